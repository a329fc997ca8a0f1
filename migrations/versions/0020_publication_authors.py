"""publication authors, declared advisor/student relations, submission contacts

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 21:40:00

Recusal by co-authorship, shared institutional e-mail domain and declared advisor/student
(docs/design/coauthor.md): `publication.authors` (the paper's author list as written),
`conflict_of_interest.relation` ("advisor" / "student" / NULL), and on `submission` the contact
persons, their e-mail addresses (personal data: a Fernet token written by the app, NULL here)
and the addresses' domains in clear for matching. Existing rows get empty lists.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authors', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('conflict_of_interest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relation', sa.String(length=16), nullable=True))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('contact_people', sa.JSON(), nullable=False, server_default='[]')
        )
        batch_op.add_column(sa.Column('contact_emails', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('contact_domains', sa.JSON(), nullable=False, server_default='[]')
        )
    # The models give the defaults; the server defaults only filled the existing rows.
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.alter_column('authors', server_default=None)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.alter_column('contact_people', server_default=None)
        batch_op.alter_column('contact_domains', server_default=None)


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('contact_domains')
        batch_op.drop_column('contact_emails')
        batch_op.drop_column('contact_people')
    with op.batch_alter_table('conflict_of_interest', schema=None) as batch_op:
        batch_op.drop_column('relation')
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_column('authors')
