"""Cost of the personal-data encryption (core/pii.py): per value and for an expert export.

    .venv/bin/python bench/pii.py [--values 10000] [--experts 3000]

Prints the microseconds per Fernet encryption, decryption and blind index of an ID number, and
the time to build the expert list export (XLSX) of `--experts` experts, masked and in full (both
decrypt every ID number and phone: a masked value is cut from the decrypted one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from expertpool.core.idnumbers import check_digit
from expertpool.core.pii import Keyring, Keys, new_fernet_key


def per_value(n: int) -> None:
    ring = Keyring(Keys([new_fernet_key()], b"k" * 32))
    values = [f"1101051949{i:07d}"[:17] for i in range(n)]
    values = [v + check_digit(v) for v in values]
    start = time.perf_counter()
    tokens = [ring.encrypt(v) for v in values]
    encrypt = time.perf_counter() - start
    start = time.perf_counter()
    for token in tokens:
        ring.decrypt(token)
    decrypt = time.perf_counter() - start
    start = time.perf_counter()
    for value in values:
        ring.blind_index(value)
    index = time.perf_counter() - start
    print(
        f"{n} values: encrypt {encrypt / n * 1e6:.1f} us, decrypt {decrypt / n * 1e6:.1f} us, "
        f"blind index {index / n * 1e6:.1f} us per value; a token is {len(tokens[0])} characters"
    )


def export(n: int) -> None:
    from flask_babel import force_locale

    from expertpool import create_app
    from expertpool.db import db
    from expertpool.experts import exporter
    from expertpool.experts.models import Expert
    from expertpool.experts.queries import ExpertFilter

    folder = Path(tempfile.mkdtemp(prefix="bench-pii-"))
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'b.db'}",
            "SECRET_KEY": "k",
            "EMBEDDING_MODEL": "hashing",
        },
        instance_path=str(folder / "instance"),
    )
    with app.app_context(), app.test_request_context(), force_locale("zh_CN"):
        db.create_all()
        for i in range(n):
            first = f"11010519{70 + i % 30}0101{i % 1000:03d}"[:17]
            db.session.add(
                Expert(
                    name=f"专家{i}", email=f"e{i}@example.cn", id_number=first + check_digit(first),
                    phone=f"138{i:08d}",
                )
            )  # fmt: skip
        db.session.commit()
        for full in (False, True):
            db.session.expire_all()
            start = time.perf_counter()
            experts = db.session.scalars(exporter.statement(ExpertFilter())).all()
            exporter.build(experts, "xlsx", "zh_CN", full_personal=full)
            print(
                f"export of {n} experts (xlsx, {'full' if full else 'masked'}): {time.perf_counter() - start:.2f} s"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--experts", type=int, default=3_000)
    args = parser.parse_args()
    per_value(args.values)
    export(args.experts)
