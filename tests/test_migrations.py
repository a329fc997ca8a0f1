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
    from sqlalchemy import insert, select

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
                    insert(tables["submission"]).values(
                        id=i + 1,
                        kind="technical_assistance",
                        title=f"申请{i}",
                        analytes=[],
                        methods=[],
                        applicant_people=[],
                        applicant_province=value,
                        status="registered",
                        version=1,
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
