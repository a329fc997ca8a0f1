"""The vector store on PostgreSQL with real concurrent connections (separate server processes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from expertpool.core.embeddings.encoder import HashingEncoder
from expertpool.core.embeddings.store import Embedding, IndexState, TextItem, VectorStore
from expertpool.db import db
from tests import pg
from tests.core.conftest import search_text

pytestmark = pytest.mark.postgres
pg_server = pg.pg_server

TABLES = [Embedding.__table__, IndexState.__table__]


@pytest.fixture
def engine(pg_server: pg.PgServer) -> Iterator:
    name = pg.database_name("emb")
    url = pg_server.create_database(name).replace("postgresql://", "postgresql+psycopg://", 1)
    eng = create_engine(url)
    db.metadata.create_all(eng, tables=TABLES)
    try:
        yield eng
    finally:
        eng.dispose()
        pg_server.drop_database(name)


def test_concurrent_writers_get_distinct_versions_and_readers_see_both(engine) -> None:
    encoder = HashingEncoder(64)
    with Session(engine) as a, Session(engine) as b, Session(engine) as reader_session:
        writer_a, writer_b = VectorStore(encoder, session=a), VectorStore(encoder, session=b)
        reader = VectorStore(encoder, session=reader_session)
        writer_a.upsert("main", [TextItem("expert", 1, "", "土壤重金属", "zh")])  # holds the lock
        errors: list[BaseException] = []

        def write_b() -> None:
            try:
                b.execute(text("SET lock_timeout = '20s'"))  # a bug fails instead of hanging
                writer_b.upsert("main", [TextItem("expert", 2, "", "奶粉三聚氰胺", "zh")])
                b.commit()
            except BaseException as exc:  # reported to the main thread
                errors.append(exc)

        thread = threading.Thread(target=write_b)
        thread.start()  # B waits on A's state row whether it gets there before or after this
        a.commit()
        thread.join(timeout=60)
        assert not thread.is_alive() and not errors, errors
        versions = reader_session.execute(
            text("SELECT source_id, version FROM embedding ORDER BY source_id")
        ).all()
        assert [v for _id, v in versions] == [1, 2]  # serialised in commit order
        reader_session.commit()
        assert sorted(reader.matrix("main").keys()) == [("expert", 1, ""), ("expert", 2, "")]


def test_reader_picks_up_updates_and_deletes(engine) -> None:
    encoder = HashingEncoder(64)
    with Session(engine) as w, Session(engine) as r:
        writer, reader = VectorStore(encoder, session=w), VectorStore(encoder, session=r)
        writer.upsert("main", [TextItem("doc", i, "", f"文档{i} 标准物质") for i in range(5)])
        w.commit()
        assert len(reader.matrix("main")) == 5
        r.commit()  # a new request: a new transaction sees new commits
        writer.upsert("main", [TextItem("doc", 0, "", "钢铁中碳硫含量")])
        writer.delete("main", "doc", 4)
        w.commit()
        m = reader.matrix("main")
        assert len(m) == 4 and m.version == 3
        assert search_text(reader, "main", "钢铁碳硫", k=1)[0].source_id == 0
