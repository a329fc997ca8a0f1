"""query vectors kept by model and exact text

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 01:50:00

`query_vector`: a query's embedding (float32 bytes) keyed by the model id and the SHA-256 of
the text, so every web process and host embeds a submission's matching text once
(`expertpool/core/embeddings/queries.py`). A new table only; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('query_vector',
    sa.Column('model_id', sa.String(length=128), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('model_id', 'text_hash', name=op.f('pk_query_vector'))
    )


def downgrade():
    op.drop_table('query_vector')
