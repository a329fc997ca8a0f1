"""spot checks of review-quality ratings: a draw of a round's reviews and their second ratings

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 21:33:20

`spot_check`: one random draw of a review round's rated reviews (size, the seed it was drawn
with, how many it was drawn from, the disagreement gap in force); `spot_check_item`: a drawn
review (unique: a review is drawn at most once) and the second rater's rating
(`expertpool/reviews/spotchecks.py`). New tables only; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spot_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('round_name', sa.String(length=128), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('gap', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_spot_check_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['review_round.id'], name=op.f('fk_spot_check_round_id_review_round'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check'))
    )
    with op.batch_alter_table('spot_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_round_id'), ['round_id'], unique=False)

    op.create_table('spot_check_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('second_rating', sa.Integer(), nullable=True),
    sa.Column('second_comment', sa.Text(), nullable=True),
    sa.Column('second_rated_by_id', sa.Integer(), nullable=True),
    sa.Column('second_rated_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_spot_check_item_expert_id_expert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_spot_check_item_review_id_review'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['second_rated_by_id'], ['user.id'], name=op.f('fk_spot_check_item_second_rated_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_item_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_item')),
    sa.UniqueConstraint('review_id', name=op.f('uq_spot_check_item_review_id'))
    )
    with op.batch_alter_table('spot_check_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_item_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_item_spot_check_id'), ['spot_check_id'], unique=False)



def downgrade():
    with op.batch_alter_table('spot_check_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_item_spot_check_id'))
        batch_op.drop_index(batch_op.f('ix_spot_check_item_expert_id'))

    op.drop_table('spot_check_item')
    with op.batch_alter_table('spot_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_round_id'))

    op.drop_table('spot_check')
