"""What sealing the audit log's hash chain costs a commit, and how fast `verify` walks it.

    .venv/bin/python bench/audit_seal.py [--rows 30000] [--hmac]

One SQLite file (WAL, the app's pragmas). Writes `--rows` audit rows in one transaction through
a Core bulk insert (as a 3,000-expert import writes about 30,000), commits with sealing off and
then on, and prints each commit's time: the difference is what sealing adds to the time the
write lock is held. Then walks the chain with `verify` and prints rows per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _model import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--hmac", action="store_true", help="seal with AUDIT_HMAC_KEY set")
    args = parser.parse_args()

    from sqlalchemy import insert

    from expertpool import create_app
    from expertpool.core import audit_chain
    from expertpool.core.audit import AuditLog
    from expertpool.db import db

    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SECRET_KEY": "bench",
            "EMBEDDING_MODEL": "hashing",
            "AUDIT_HMAC_KEY": "k" * 40 if args.hmac else None,
        },
        instance_path=str(tmp / "instance"),
    )
    rows = [
        {
            "actor_name": "import",
            "entity_type": "Expert",
            "entity_id": i,
            "subject_type": "expert",
            "subject_id": i,
            "action": "create",
            "changes": {"name": [None, f"专家{i}"], "province": [None, "北京市"]},
            "note": "import bench.xlsx",
        }
        for i in range(args.rows)
    ]
    print(machine())
    with app.app_context():
        db.create_all()
        times = {}
        for sealed in (False, True):
            app.config["AUDIT_SEAL_ON_COMMIT"] = sealed
            db.session.execute(insert(AuditLog), rows)
            start = time.perf_counter()
            db.session.commit()
            times[sealed] = time.perf_counter() - start
        left = audit_chain.unsealed_count(db.session)
        start = time.perf_counter()
        sealed_now = audit_chain.seal(db.session)
        db.session.commit()
        seal_alone = time.perf_counter() - start
        start = time.perf_counter()
        report = audit_chain.verify(db.session)
        walk = time.perf_counter() - start
    print(f"rows per commit: {args.rows:,}  seals: {'HMAC-SHA256' if args.hmac else 'SHA-256'}")
    print(f"commit, sealing off: {times[False]:.2f} s")
    print(f"commit, sealing on:  {times[True]:.2f} s  (+{times[True] - times[False]:.2f} s)")
    print(
        f"sealing the {left:,} rows the commits left (the audit.seal job does it 2,000 per "
        f"transaction): {seal_alone:.2f} s ({sealed_now:,})"
    )
    print(
        f"verify: {report.checked:,} rows in {walk:.2f} s "
        f"({report.checked / walk:,.0f} rows/s), ok={report.ok}"
    )


if __name__ == "__main__":
    main()
