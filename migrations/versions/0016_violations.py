"""violations (违规处理): a case about an expert, its investigation, decision and objection

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:45:00

One `violation` row per case (`expertpool/experts/models/violations.py`): kind, description,
evidence (text and an optional file stored under UPLOAD_FOLDER), incident date, reporter, the
workflow state (reported, investigating, decided, dismissed), the office's internal note, the
decision and its consequence, and the expert's objection with the office's answer.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('violation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('evidence_path', sa.String(length=512), nullable=True),
    sa.Column('evidence_filename', sa.String(length=256), nullable=True),
    sa.Column('evidence_size', sa.Integer(), nullable=True),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('reporter', sa.String(length=128), nullable=True),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('investigation_started_at', sa.DateTime(), nullable=True),
    sa.Column('internal_note', sa.Text(), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('consequence', sa.String(length=16), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('objection_reason', sa.Text(), nullable=True),
    sa.Column('objection_at', sa.DateTime(), nullable=True),
    sa.Column('objection_answer', sa.Text(), nullable=True),
    sa.Column('objection_outcome', sa.String(length=16), nullable=True),
    sa.Column('objection_answered_by_id', sa.Integer(), nullable=True),
    sa.Column('objection_answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_violation_decided_by_id_user')),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_violation_expert_id_expert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['objection_answered_by_id'], ['user.id'], name=op.f('fk_violation_objection_answered_by_id_user')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['user.id'], name=op.f('fk_violation_reported_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation'))
    )
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_violation_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('violation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_state'))
        batch_op.drop_index(batch_op.f('ix_violation_kind'))
        batch_op.drop_index(batch_op.f('ix_violation_expert_id'))
    op.drop_table('violation')
