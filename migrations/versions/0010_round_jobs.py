"""round proposals as background jobs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00

A review round is created in the new status "solving" and its proposal is computed by a job
(`matching.propose_round`): the round keeps the job's id for its page's progress bar and, when
no proposal could be made, the reason in plain words. Existing rounds keep their status.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_review_round_job_id_job'), 'job', ['job_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('review_round', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_review_round_job_id_job'), type_='foreignkey')
        batch_op.drop_column('error')
        batch_op.drop_column('job_id')
