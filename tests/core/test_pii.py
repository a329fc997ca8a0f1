"""Personal data at rest: encrypted, found by blind index, masked in the audit log, rotated."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import select, text

from expertpool import create_app
from expertpool.config import ConfigError
from expertpool.core import pii
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts.models import Expert
from tests.conftest import SAFE_PRODUCTION

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def _raw(expert_id: int) -> dict:
    row = db.session.execute(
        text("SELECT id_number_enc, id_number_hash, phone_enc FROM expert WHERE id=:i"),
        {"i": expert_id},
    ).one()
    return dict(row._mapping)


def test_id_numbers_and_phones_are_stored_encrypted_and_read_plain(app, make_expert):
    expert = make_expert(id_number=ID_NUMBER, phone=PHONE)
    stored = _raw(expert.id)
    dump = " ".join(str(v) for v in stored.values())
    assert ID_NUMBER not in dump and PHONE not in dump and "1234" not in stored["phone_enc"]
    assert stored["id_number_enc"].startswith("gAAAA")  # a Fernet token
    db.session.expire_all()
    again = db.session.get(Expert, expert.id)
    assert (again.id_number, again.phone) == (ID_NUMBER, PHONE)
    assert stored["id_number_hash"] == pii.blind_index(ID_NUMBER)
    # No column in the whole database holds the plain values.
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                assert ID_NUMBER not in str(tuple(row)), table.name


def test_an_encrypted_column_refuses_an_equality_test(app):
    with pytest.raises(TypeError, match="blind index"):
        select(Expert).where(Expert.id_number == ID_NUMBER)
    select(Expert).where(Expert.id_number.is_(None))  # a test for NULL stays possible


def test_the_audit_log_holds_them_masked(app, make_expert, admin):
    from expertpool.experts.operations import update_ordinary

    expert = make_expert(id_number=ID_NUMBER, phone=PHONE)
    update_ordinary(db.session, admin, expert, {"phone": "13998765432"}, expert.version)
    db.session.commit()
    rows = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Expert")).all()
    logged = " ".join(str(r.changes) for r in rows)
    assert ID_NUMBER not in logged and PHONE not in logged and "13998765432" not in logged
    assert "1101**********002X" in logged and "138****5678" in logged
    assert "139****5432" in logged
    assert "id_number_hash" not in logged


def test_a_duplicate_id_number_is_found_through_the_blind_index(app, make_expert):
    from expertpool.experts.importer import COLUMNS, csv_bytes, parse, validate

    make_expert(id_number=ID_NUMBER)
    values = {"name": "王五", "email": "w5@example.cn", "id_number": ID_NUMBER.lower()}
    values |= {"institution": "中国计量科学研究院", "province": "北京市", "categories": "08"}
    data = csv_bytes([c.zh for c in COLUMNS], [[values.get(c.key) for c in COLUMNS]])
    report = validate(db.session, parse("experts.csv", data))
    messages = " ".join(e.message for e in report.errors)
    assert "已在专家库中" in messages and "1101**********002X" in messages
    assert ID_NUMBER not in messages


def test_mask():
    assert pii.mask("11010519491231002X") == "1101**********002X"
    assert pii.mask("13812345678") == "138****5678"
    assert pii.mask("010-1234") == "0*****34"
    assert pii.mask("1101**********002X") == "1101**********002X"  # idempotent
    assert pii.mask(None) == "" and pii.mask("1234") == "****"


def test_the_key_file_is_created_private_and_read_back(app):
    path = app.config["PII_KEY_FILE"]
    assert os.path.exists(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    keys = pii.read_key_file(pii.Path(path))
    assert len(keys.fernet) == 1 and len(keys.index) == 32


def test_production_refuses_to_start_without_keys(tmp_path):
    settings = {k: v for k, v in SAFE_PRODUCTION.items() if not k.startswith("PII_")}
    settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'p.db'}"
    with pytest.raises(ConfigError, match="personal-data keys"):
        create_app(settings, instance_path=str(tmp_path / "inst"))
    assert not (tmp_path / "inst" / "pii_keys").exists()  # never made up


def test_rotation_re_encrypts_every_value_under_a_new_key(app, runner, make_expert):
    experts = [make_expert(id_number=None, phone=f"1380000{i:04d}") for i in range(7)]
    first = make_expert(id_number=ID_NUMBER, phone=PHONE)
    before = _raw(first.id)
    ring = pii.keyring()
    assert pii.tokens_by_key(db.engine, db.metadata, ring) == {0: 9}

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert len(ring.keys.fernet) == 2
    # The eager job ran: every value now opens with the new key only.
    assert pii.tokens_by_key(db.engine, db.metadata, ring) == {0: 9}
    after = _raw(first.id)
    assert after["id_number_enc"] != before["id_number_enc"]
    assert after["id_number_hash"] == before["id_number_hash"]  # lookups unchanged
    db.session.expire_all()
    assert db.session.get(Expert, first.id).id_number == ID_NUMBER
    assert [db.session.get(Expert, e.id).phone for e in experts] == [
        f"1380000{i:04d}" for i in range(7)
    ]
    result = runner.invoke(args=["keys", "drop-old"])
    assert result.exit_code == 0, result.output
    assert len(pii.read_key_file(pii.Path(app.config["PII_KEY_FILE"])).fernet) == 1
    db.session.expire_all()
    assert db.session.get(Expert, first.id).phone == PHONE


def test_drop_old_refuses_while_a_value_needs_an_old_key(app, runner, make_expert):
    make_expert(id_number=ID_NUMBER)
    assert runner.invoke(args=["keys", "rotate", "--no-job"]).exit_code == 0
    result = runner.invoke(args=["keys", "drop-old"])
    assert result.exit_code != 0 and "re-encrypt first" in result.output
    assert "key 1: 1" in runner.invoke(args=["keys", "status"]).output


def test_reencryption_never_overwrites_a_value_saved_meanwhile(app, make_expert):
    expert = make_expert(phone=PHONE)
    ring = pii.keyring()
    token = _raw(expert.id)["phone_enc"]
    expert.phone = "13900000000"  # saved after the job read the old token
    db.session.commit()
    with db.engine.begin() as conn:
        pk = db.metadata.tables["expert"].c.id
        column = db.metadata.tables["expert"].c.phone_enc
        pii._rewrite(conn, db.metadata.tables["expert"], pk, column, ring, [(expert.id, token)])
    db.session.expire_all()
    assert db.session.get(Expert, expert.id).phone == "13900000000"


def test_another_process_reads_values_written_under_a_newer_key(app, make_expert):
    """A process started before the rotation re-reads the key file once, not a restart."""
    path = pii.Path(app.config["PII_KEY_FILE"])
    stale = pii.Keyring(pii.read_key_file(path), path)
    keys = pii.read_key_file(path)
    pii.write_key_file(path, pii.Keys([pii.new_fernet_key(), *keys.fernet], keys.index))
    pii.keyring().reload()
    token = pii.keyring().encrypt(PHONE)
    assert stale.decrypt(token) == PHONE and len(stale.keys.fernet) == 2


def test_a_token_no_key_opens_is_a_clear_error(app):
    other = pii.Keyring(pii.Keys([pii.new_fernet_key()], b"x" * 32))
    with pytest.raises(pii.PiiKeyError, match="PII_KEYS"):
        pii.keyring().decrypt(other.encrypt(PHONE))


def test_keys_from_settings_use_no_file(tmp_path):
    settings = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
        "SECRET_KEY": "k",
        "PII_KEYS": SAFE_PRODUCTION["PII_KEYS"],
        "PII_INDEX_KEY": SAFE_PRODUCTION["PII_INDEX_KEY"],
    }
    app = create_app(settings, instance_path=str(tmp_path / "inst"))
    with app.app_context():
        assert pii.keyring().path is None
        assert pii.keyring().decrypt(pii.keyring().encrypt(PHONE)) == PHONE
    assert not (tmp_path / "inst" / "pii_keys").exists()
