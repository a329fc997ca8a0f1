"""re-certification: a renewal's certificate supersedes the earlier ones of the course

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 21:50:00

`course_certificate.superseded_at` / `superseded_by_id`: when a learner takes a course again
(after its certificate lapsed, or within the expiring window) the new certificate marks the
earlier ones of that course as superseded; they stay for the history and for verification.
Expiry itself is computed (issue date + the course's `validity_years`, which exists since 0002),
and expiry reminders are notifications with a dedupe key, so nothing else changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course_certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_course_certificate_superseded_by_id_course_certificate'),
            'course_certificate',
            ['superseded_by_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('course_certificate', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_course_certificate_superseded_by_id_course_certificate'),
            type_='foreignkey',
        )
        batch_op.drop_column('superseded_by_id')
        batch_op.drop_column('superseded_at')
