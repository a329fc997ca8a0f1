"""matching pool snapshot versions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00

One row per part of the matching pool's snapshot (experts, specialties, loads, training): every
commit that changes a part writes a new version and stamp, and each process keeps its snapshot
of the pool while the stamps match (`expertpool/matching/snapshot.py`).
"""
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('pool_state',
    sa.Column('part', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('stamp', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('part', name=op.f('pk_pool_state'))
    )
    # Every part starts with a stamp, so processes cache the pool from the first ranking on.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(table, [
        {'part': part, 'version': 0, 'stamp': secrets.token_hex(16), 'updated_at': now}
        for part in ('experts', 'specialties', 'loads', 'training')
    ])


def downgrade():
    op.drop_table('pool_state')
