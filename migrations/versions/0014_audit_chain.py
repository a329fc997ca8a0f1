"""audit log hash chain (seal position, previous and own hash, key id) and its verifications

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 12:30:00

`expertpool.core.audit_chain`: each audit row is sealed once, after insertion, onto a hash chain
(`seal_seq`, `prev_hash`, `row_hash`, `key_id`); `audit_verification` keeps each run of
`flask audit verify` for the security auditor's page. Existing rows are left unsealed here and
sealed, in id order, by the first commit that seals (or `flask audit seal`), with the HMAC key
of the running application. Role names are plain strings: the three duty roles (sysadmin,
secadmin, auditor) need no schema change.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_seal_seq'), ['seal_seq'])
    op.create_table('audit_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_name', sa.String(length=128), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('unsealed', sa.Integer(), nullable=False),
    sa.Column('head_seq', sa.Integer(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.Column('problem_row_id', sa.Integer(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verification'))
    )
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_verification_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_verification_at'))
    op.drop_table('audit_verification')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_log_seal_seq'), type_='unique')
        batch_op.drop_column('key_id')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seal_seq')
