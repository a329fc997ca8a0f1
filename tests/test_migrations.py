"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from expertpool import create_app
from expertpool.db import db


def test_upgrade_builds_the_models_schema(tmp_path):
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "SECRET_KEY": "k"},
        instance_path=str(tmp_path / "inst"),
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ: run `flask db migrate`: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()


def test_0005_rewrites_province_aliases_and_keeps_unknown_values(tmp_path, capsys):
    """A database at 0004 holding aliases and an unknown value, upgraded to 0005."""
    from datetime import datetime

    from sqlalchemy import MetaData, Table, insert, select

    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "SECRET_KEY": "k"},
        instance_path=str(tmp_path / "inst"),
    )
    spellings = ["北京", "广西", "Beijing", "新疆维吾尔自治区", "火星省", " 京 ", "", None]
    expected = [
        "北京市",
        "广西壮族自治区",
        "北京市",
        "新疆维吾尔自治区",
        "火星省",
        "北京市",
        None,
        None,
    ]
    tables = db.metadata.tables
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            # The submission table as it stands at 0004: the model's later columns (with their
            # Python defaults) do not exist yet.
            submission_at_0004 = Table("submission", MetaData(), autoload_with=conn)
            for i, value in enumerate(spellings):
                conn.execute(
                    insert(tables["institution"]).values(id=i + 1, name=f"单位{i}", province=value)
                )
                conn.execute(
                    insert(tables["expert"]).values(
                        id=i + 1,
                        name=f"专家{i}",
                        email=f"e{i}@example.cn",
                        province=value,
                        institution_id=i + 1,
                        status="active",
                        metrology_competent=False,
                        version=1,
                    )
                )
                conn.execute(
                    insert(submission_at_0004).values(
                        id=i + 1,
                        kind="technical_assistance",
                        title=f"申请{i}",
                        analytes=[],
                        methods=[],
                        applicant_people=[],
                        applicant_province=value,
                        status="registered",
                        version=1,
                        created_at=datetime(2026, 1, 1),
                        updated_at=datetime(2026, 1, 1),
                    )
                )
                conn.execute(
                    insert(tables["user"]).values(
                        id=i + 1,
                        username=f"u{i}",
                        email=f"u{i}@example.cn",
                        name=f"用户{i}",
                        password_hash="x",
                        active=True,
                        province=value,
                    )
                )
        capsys.readouterr()
        upgrade(revision="0005")
        report = capsys.readouterr().out
        with db.engine.connect() as conn:
            for table, column in (
                ("expert", "province"),
                ("institution", "province"),
                ("submission", "applicant_province"),
                ("user", "province"),
            ):
                t = tables[table]
                stored = conn.execute(select(t.c[column]).order_by(t.c.id)).scalars().all()
                assert stored == expected, table
                assert f"1 {table}.{column}" in report and "'火星省' (1)" in report
            version = conn.execute(db.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0005"
        downgrade(revision="0004")  # a no-op for the data: nothing is lost
        with db.engine.connect() as conn:
            t = tables["expert"]
            assert conn.execute(select(t.c.province).order_by(t.c.id)).scalars().all() == expected


def test_0015_encrypts_id_numbers_and_phones_and_masks_the_audit_log(tmp_path):
    """A database at 0012 holding plain ID numbers and phones (and an audit log naming them)."""
    import sqlalchemy as sa

    from expertpool.core import pii
    from expertpool.experts.models import Expert

    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}", "SECRET_KEY": "k"},
        instance_path=str(tmp_path / "inst"),
    )
    expert = sa.table(
        "expert",
        *(sa.column(n) for n in ("id", "name", "email", "id_number", "phone", "status")),
        sa.column("metrology_competent"),
        sa.column("version"),
        sa.column("created_at"),
        sa.column("file_updated_at"),
    )
    audit_log = sa.table(
        "audit_log",
        *(sa.column(n) for n in ("id", "at", "actor_name", "entity_type", "entity_id", "action")),
        sa.column("changes", sa.JSON),
    )
    people = [(1, "11010519491231002X", "13812345678"), (2, None, "010-12345678"), (3, None, None)]
    with app.app_context():
        upgrade(revision="0012")
        with db.engine.begin() as conn:
            for key, number, phone in people:
                conn.execute(
                    sa.insert(expert).values(
                        id=key, name=f"专家{key}", email=f"e{key}@example.cn", id_number=number,
                        phone=phone, status="active", metrology_competent=False, version=1,
                        created_at=sa.func.now(), file_updated_at=sa.func.now(),
                    )
                )  # fmt: skip
            conn.execute(
                sa.insert(audit_log).values(
                    id=1, at=sa.func.now(), actor_name="admin", entity_type="Expert", entity_id=1,
                    action="update",
                    changes={"phone": ["13800000000", "13812345678"], "name": ["a", "b"]},
                )
            )  # fmt: skip
        upgrade()
        with db.engine.connect() as conn:
            raw = conn.execute(sa.text("SELECT * FROM expert ORDER BY id")).mappings().all()
            changes = conn.execute(sa.text("SELECT changes FROM audit_log")).scalar_one()
        assert "id_number" not in raw[0] and "phone" not in raw[0]
        dump = str([dict(r) for r in raw])
        assert "13812345678" not in dump and "11010519491231002X" not in dump
        assert raw[0]["id_number_hash"] == pii.blind_index("11010519491231002X")
        assert raw[1]["phone_enc"].startswith("gAAAA") and raw[1]["id_number_hash"] is None
        assert raw[2]["phone_enc"] is None and raw[2]["id_number_hash"] is None
        assert "13812345678" not in str(changes) and "138****5678" in str(changes)
        assert '"name": ["a", "b"]' in str(changes)  # other fields untouched
        read = [
            (e.id_number, e.phone)
            for e in db.session.scalars(sa.select(Expert).order_by(Expert.id))
        ]
        assert read == [(n, p) for _k, n, p in people]
        db.session.remove()
        downgrade(revision="0012")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT id_number, phone FROM expert ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(n, p) for _k, n, p in people]


def test_0022_gives_the_papers_part_its_stamp(tmp_path):
    """A database at 0021 has stamps for the four old parts; 0022 adds the co-authors' part
    (a part without a stamp is never cached: every ranking would re-read every publication),
    and leaves the others' stamps as they were."""
    from sqlalchemy import select

    from expertpool.matching.models import PoolState
    from expertpool.matching.snapshot import PARTS

    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}", "SECRET_KEY": "k"},
        instance_path=str(tmp_path / "inst"),
    )
    query = select(PoolState.part, PoolState.stamp)
    with app.app_context():
        upgrade(revision="0021")
        with db.engine.connect() as conn:
            before = dict(conn.execute(query).all())
        assert set(before) == set(PARTS) - {"papers"}
        upgrade()
        with db.engine.connect() as conn:
            after = dict(conn.execute(query).all())
        assert set(after) == set(PARTS) and len(after["papers"]) == 32
        assert {part: after[part] for part in before} == before
        downgrade(revision="0021")
        with db.engine.connect() as conn:
            assert dict(conn.execute(query).all()) == before
