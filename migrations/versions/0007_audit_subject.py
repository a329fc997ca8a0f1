"""audit log: the record a change belongs to is a (subject type, subject id), not an expert id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:00:00

The core's audit log no longer knows about experts: a feature names the record whose history a
change belongs to. Every existing `expert_id` was an expert's, so it becomes ("expert", id).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_expert_id'))
        batch_op.alter_column('expert_id', new_column_name='subject_id',
                              existing_type=sa.Integer(), existing_nullable=True)
        batch_op.add_column(sa.Column('subject_type', sa.String(length=32), nullable=True))
    op.execute("UPDATE audit_log SET subject_type = 'expert' WHERE subject_id IS NOT NULL")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_subject', ['subject_type', 'subject_id'], unique=False)


def downgrade():
    op.execute(
        "UPDATE audit_log SET subject_id = NULL "
        "WHERE subject_type IS NOT NULL AND subject_type != 'expert'"
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_subject')
        batch_op.drop_column('subject_type')
        batch_op.alter_column('subject_id', new_column_name='expert_id',
                              existing_type=sa.Integer(), existing_nullable=True)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_expert_id'), ['expert_id'], unique=False)
