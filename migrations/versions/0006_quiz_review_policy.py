"""quiz review policy and lessons-first gating

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 17:30:00

Existing quizzes get the defaults: the right answers are shown after a passing attempt or the
last attempt (`after_pass_or_last`), and the quiz opens once every lesson is done.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course_quiz', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'review_policy',
                sa.String(length=24),
                server_default='after_pass_or_last',
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column('lessons_first', sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('course_quiz', schema=None) as batch_op:
        batch_op.drop_column('lessons_first')
        batch_op.drop_column('review_policy')
