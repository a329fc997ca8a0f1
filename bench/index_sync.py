"""What following the change log costs a host (issue 11, scaling out): check, apply, rebuild.

    .venv/bin/python bench/index_sync.py [--experts 2000] [--rounds 200] [--database-url URL]

Builds a throwaway database (a SQLite file unless --database-url names an empty PostgreSQL
database) with `--experts` experts (the hashing stand-in encoder: no model, no vectors needed
for the keyword index) and two app hosts with their own index folders. Host A logs changes as
the index job does; host B follows. Prints, for host B:

- check: `sync` when nothing changed (one primary-key query and the mark file), median and p95;
- apply: `sync` after one expert's change (re-read its document, one Whoosh commit);
- apply 100: after a job that changed 100 experts (an import);
- rebuild: the whole experts index from the database (a new host, or after a restore).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _model import machine

from expertpool import create_app
from expertpool.core.search.app import SKIP_SYNC
from expertpool.core.search.changes import record_changes, sync
from expertpool.db import db
from expertpool.experts.models import Expert
from expertpool.matching.texts import EXPERT_INDEX

WORDS = [
    "土壤",
    "铅",
    "镉",
    "水质",
    "氨氮",
    "食品",
    "三聚氰胺",
    "同位素",
    "质谱",
    "色谱",
    "不确定度",
    "均匀性",
    "稳定性",
    "定值",
]


def make_host(url: str, folder: Path):
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "EMBEDDING_MODEL": "hashing",
            "SEARCH_SYNC_SECONDS": 0,
            "SERVER_NAME": "localhost",
        },
        instance_path=str(folder),
    )


def fill(app, n: int) -> list[int]:
    with app.app_context():
        db.create_all()
        db.session.info[SKIP_SYNC] = True
        for i in range(n):
            words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(4))
            db.session.add(
                Expert(
                    name=f"专家{i}",
                    email=f"e{i}@example.cn",
                    province="北京市",
                    status="active",
                    summary=f"长期从事{words}相关标准物质研制",
                )
            )
        db.session.commit()
        return list(db.session.scalars(db.select(Expert.id)))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def log_change(app, ids: list[int]) -> None:
    with app.app_context():
        db.session.info[SKIP_SYNC] = True  # no index job: this stands for the job itself
        for expert_id in ids:
            expert = db.session.get(Expert, expert_id)
            expert.summary = f"{expert.summary} 修订"
        record_changes(db.session, EXPERT_INDEX, upserted=ids)
        db.session.commit()  # host A applies its own change here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    url = args.database_url or f"sqlite:///{work / 'shared.db'}"
    a, b = make_host(url, work / "host-a"), make_host(url, work / "host-b")
    ids = fill(a, args.experts)
    log_change(a, ids[:1])  # the index's state row exists from here on
    with b.app_context():
        rebuild = [timed(lambda: _rebuild(b)) for _ in range(3)]
        checks = [timed(lambda: sync(EXPERT_INDEX, b)) for _ in range(args.rounds)]
        applies, applies_100 = [], []
        for r in range(min(args.rounds, 50)):
            log_change(a, [ids[r % len(ids)]])
            applies.append(timed(lambda: sync(EXPERT_INDEX, b)))
        for r in range(5):
            log_change(a, ids[r * 100 : (r + 1) * 100])
            applies_100.append(timed(lambda: sync(EXPERT_INDEX, b)))
    print(f"machine: {machine()}")
    print(f"database: {a.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, {len(ids)} experts")
    for label, values in (
        ("check (nothing new)", checks),
        ("apply 1 expert", applies),
        ("apply 100 experts", applies_100),
        ("rebuild", rebuild),
    ):
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(
            f"{label:<22} median {statistics.median(values):8.2f} ms   p95 {p95:8.2f} ms"
            f"   (n={len(values)})"
        )


def _rebuild(app) -> None:
    from expertpool.core.search.app import get_index

    (get_index(EXPERT_INDEX, app).path / "SYNCED").unlink(missing_ok=True)  # void the mark
    result = sync(EXPERT_INDEX, app, force=True)
    assert result.action == "rebuilt", result


if __name__ == "__main__":
    main()
