"""personal data encrypted at rest: experts' ID numbers and phones; correction requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 12:40:00

`expert.id_number` and `expert.phone` become `id_number_enc` / `phone_enc` (Fernet tokens under
the app's personal-data keys, `expertpool/core/pii.py`), the number with a blind index
`id_number_hash` (unique, replacing the unique constraint on the plain number; nothing looks
phones up, so they have none). Existing values
are encrypted with the running app's keyring (PII_KEYS or the key file PII_KEY_FILE, which the
app creates outside production): unlike the other migrations this one needs the application,
because the keys are the application's and never live in the database. Then the plain columns
are dropped, and ID numbers and phones already in the audit log are masked in place
("1101**********1234"), so the log no longer holds them in full.

Also the person's correction requests (PIPL): `correction_request` for an account's fields, and
on `pending_change` (an expert's correction request is one of the experts' change requests) the
reason given and the requested value, encrypted.

Downgrade decrypts the values back into plain columns (the audit log stays masked: the full
values were never needed there).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PERSONAL = ("id_number", "phone")
_BATCH = 500


def _keyring():
    from flask import current_app

    try:
        return current_app.extensions["pii"]
    except (RuntimeError, KeyError):
        raise RuntimeError(
            "0015 encrypts personal data with the app's keys: run it through `flask db upgrade`"
        ) from None


def _mask(text):
    # Frozen copy of expertpool.core.pii.mask as of this revision.
    if text is None or text == "" or "*" in str(text):
        return text
    text = str(text)
    n = len(text)
    head, tail = (4, 4) if n >= 15 else (3, 4) if n >= 9 else (1, 2) if n >= 5 else (0, 0)
    return text[:head] + "*" * (n - head - tail) + text[n - tail:] if tail else "*" * n


def upgrade():
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number_enc', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('phone_enc', sa.Text(), nullable=True))
    _encrypt_existing()
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_constraint('uq_expert_id_number', type_='unique')
        batch_op.drop_column('id_number')
        batch_op.drop_column('phone')
        batch_op.create_unique_constraint(batch_op.f('uq_expert_id_number_hash'), ['id_number_hash'])
    _mask_audit_log()
    op.create_table('correction_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_correction_request_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_correction_request_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_request'))
    )
    with op.batch_alter_table('correction_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_request_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('pending_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('correction_value', sa.Text(), nullable=True))


def _encrypt_existing():
    conn = op.get_bind()
    expert = sa.table(
        'expert',
        sa.column('id', sa.Integer),
        sa.column('id_number', sa.String),
        sa.column('phone', sa.String),
        sa.column('id_number_enc', sa.Text),
        sa.column('id_number_hash', sa.String),
        sa.column('phone_enc', sa.Text),
    )
    rows = conn.execute(
        sa.select(expert.c.id, expert.c.id_number, expert.c.phone).where(
            sa.or_(expert.c.id_number.is_not(None), expert.c.phone.is_not(None))
        )
    ).all()
    if not rows:
        return
    ring = _keyring()
    values = []
    for key, number, phone in rows:
        number = (number or "").strip() or None
        phone = (phone or "").strip() or None
        values.append(
            {
                "_id": key,
                "id_number_enc": ring.encrypt(number) if number else None,
                "id_number_hash": ring.blind_index(number.upper()) if number else None,
                "phone_enc": ring.encrypt(phone) if phone else None,
            }
        )
    stmt = expert.update().where(expert.c.id == sa.bindparam("_id")).values(
        {name: sa.bindparam(name) for name in values[0] if name != "_id"}
    )
    for start in range(0, len(values), _BATCH):
        conn.execute(stmt, values[start:start + _BATCH])


def _mask_audit_log():
    conn = op.get_bind()
    audit = sa.table(
        'audit_log',
        sa.column('id', sa.Integer),
        sa.column('entity_type', sa.String),
        sa.column('changes', sa.JSON),
    )
    rows = conn.execute(
        sa.select(audit.c.id, audit.c.changes).where(audit.c.entity_type == "Expert")
    ).all()
    for key, changes in rows:
        if not isinstance(changes, dict) or not any(f in changes for f in PERSONAL):
            continue
        masked = dict(changes)
        for name in PERSONAL:
            if isinstance(masked.get(name), list):
                masked[name] = [_mask(v) for v in masked[name]]
        conn.execute(audit.update().where(audit.c.id == key).values(changes=masked))


def downgrade():
    with op.batch_alter_table('pending_change', schema=None) as batch_op:
        batch_op.drop_column('correction_value')
        batch_op.drop_column('request_reason')
    op.drop_table('correction_request')
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
    conn = op.get_bind()
    expert = sa.table(
        'expert',
        sa.column('id', sa.Integer),
        sa.column('id_number', sa.String),
        sa.column('phone', sa.String),
        sa.column('id_number_enc', sa.Text),
        sa.column('phone_enc', sa.Text),
    )
    rows = conn.execute(
        sa.select(expert.c.id, expert.c.id_number_enc, expert.c.phone_enc).where(
            sa.or_(expert.c.id_number_enc.is_not(None), expert.c.phone_enc.is_not(None))
        )
    ).all()
    if rows:
        ring = _keyring()
        for key, number, phone in rows:
            conn.execute(
                expert.update().where(expert.c.id == key).values(
                    id_number=ring.decrypt(number) if number else None,
                    phone=ring.decrypt(phone) if phone else None,
                )
            )
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_expert_id_number_hash'), type_='unique')
        batch_op.drop_column('phone_enc')
        batch_op.drop_column('id_number_hash')
        batch_op.drop_column('id_number_enc')
        batch_op.create_unique_constraint('uq_expert_id_number', ['id_number'])
