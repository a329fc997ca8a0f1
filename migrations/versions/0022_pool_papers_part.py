"""the matching pool's co-authors as a snapshot part of their own

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 05:20:00

A publication (or an expert's name) now moves the pool snapshot's "papers" part instead of its
"experts" part (`expertpool/matching/snapshot.py`), so a process re-reads the co-authors, not
every expert's whole file, after such an edit. The part gets its row here: a part without one
is never cached.
"""
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

pool_state = sa.table(
    'pool_state',
    sa.column('part', sa.String),
    sa.column('version', sa.Integer),
    sa.column('stamp', sa.String),
    sa.column('updated_at', sa.DateTime),
)


def upgrade():
    exists = op.get_bind().execute(
        sa.select(pool_state.c.part).where(pool_state.c.part == 'papers')
    ).first()
    if exists is None:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        op.bulk_insert(pool_state, [
            {'part': 'papers', 'version': 0, 'stamp': secrets.token_hex(16), 'updated_at': now}
        ])


def downgrade():
    op.execute(pool_state.delete().where(pool_state.c.part == 'papers'))
