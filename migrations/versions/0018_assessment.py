"""annual assessment of experts: rounds and each expert's draft

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 21:40:00

`expertpool.assessment.models`: `assessment_round` (one per year: gathering -> open -> closed,
with the job that gathers the facts) and `assessment_draft` (an expert's facts of the year, the
suggested grade, the administrator's grade and reason; once closed, the technical file's entry
and the proposed life-cycle step).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessment_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_assessment_round_closed_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_assessment_round_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_assessment_round_job_id_job'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_round')),
    sa.UniqueConstraint('year', name=op.f('uq_assessment_round_year'))
    )
    op.create_table('assessment_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('suggested_grade', sa.String(length=32), nullable=True),
    sa.Column('suggestion_reasons', sa.JSON(), nullable=False),
    sa.Column('grade', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_at', sa.DateTime(), nullable=True),
    sa.Column('file_assessment_id', sa.Integer(), nullable=True),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_assessment_draft_expert_id_expert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_assessment_id'], ['assessment.id'], name=op.f('fk_assessment_draft_file_assessment_id_assessment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['graded_by_id'], ['user.id'], name=op.f('fk_assessment_draft_graded_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposal_id'], ['pending_change.id'], name=op.f('fk_assessment_draft_proposal_id_pending_change'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['assessment_round.id'], name=op.f('fk_assessment_draft_round_id_assessment_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_draft')),
    sa.UniqueConstraint('round_id', 'expert_id', name=op.f('uq_assessment_draft_round_id'))
    )
    with op.batch_alter_table('assessment_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_draft_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_draft_grade'), ['grade'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_draft_round_id'), ['round_id'], unique=False)


def downgrade():
    with op.batch_alter_table('assessment_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessment_draft_round_id'))
        batch_op.drop_index(batch_op.f('ix_assessment_draft_grade'))
        batch_op.drop_index(batch_op.f('ix_assessment_draft_expert_id'))
    op.drop_table('assessment_draft')
    op.drop_table('assessment_round')
