"""search change log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00

The keyword indexes' change log (`expertpool.core.search.changes`): per index a version counter
and epoch, and one row per changed document key, so every app host's Whoosh folder follows the
database. Existing folders have no mark yet: each host rebuilds its indexes once, at its first
search (or `flask search reindex --if-missing`).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_index_state',
    sa.Column('index_name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.String(length=32), nullable=False),
    sa.Column('pruned_through', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('index_name', name=op.f('pk_search_index_state'))
    )
    op.create_table('search_index_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('index_name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('doc_key', sa.String(length=64), nullable=False),
    sa.Column('op', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_index_change'))
    )
    with op.batch_alter_table('search_index_change', schema=None) as batch_op:
        batch_op.create_index('ix_search_index_change_index_version', ['index_name', 'version'], unique=False)


def downgrade():
    with op.batch_alter_table('search_index_change', schema=None) as batch_op:
        batch_op.drop_index('ix_search_index_change_index_version')
    op.drop_table('search_index_change')
    op.drop_table('search_index_state')
