"""Personal data at rest: ID numbers and phones encrypted, found by a blind index, shown masked.

- **Encryption.** A column typed `Encrypted` holds a Fernet token (AES-128-CBC + HMAC-SHA256,
  `cryptography`) of its value; the model reads and writes plain text. The keys live outside the
  database: `PII_KEYS` (comma-separated Fernet keys, newest first) and `PII_INDEX_KEY` from the
  environment or `instance/config.py` (production), or else the key file `PII_KEY_FILE`
  (default `instance/pii_keys`, mode 0600), which `flask keys init` creates and a development
  server creates on first use. A production server refuses to start without keys
  (`config.production_problems`); it never makes them up.
- **Rotation.** Tokens are decrypted with any listed key and written with the first (newest).
  `flask keys rotate` puts a new key first in the key file and adds the job `keys.reencrypt`,
  which rewrites every encrypted value under the newest key in short batches (compare-and-set,
  so a value saved meanwhile is never overwritten); `flask keys status` says how many values each
  key still holds. A process that meets a token its keys cannot read re-reads the key file once,
  so a rotation needs no restart when keys come from the file.
- **Lookups.** A value is never compared encrypted (every token differs); equality goes through
  a keyed blind index, HMAC-SHA256 under `PII_INDEX_KEY` of the normalised value, kept beside
  the token (`blind_index`). The index key is not rotated by `keys rotate`: it only hides the
  values from someone who reads the database without the key file.
- **Masking.** `mask` shows the first and last characters only ("1101**********1234",
  "138****5678"); the audit log stores changes of encrypted columns masked (`core.audit`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Table, Text, bindparam, func, select, update
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

REENCRYPT_TASK = "keys.reencrypt"
_EXTENSION = "pii"
_BATCH = 500
_FILE_HEADER = (
    "# Keys of the personal data (ID numbers, phones) held encrypted in the database.\n"
    "# Back this file up apart from the database backups: without it the data cannot be read.\n"
    "# index=<hex>: the blind-index key (never rotated); fernet=<key>: newest first.\n"
)


class PiiKeyError(RuntimeError):
    """No usable key: the keys are missing, or none of them opens a stored value."""


# -- keys ----------------------------------------------------------------------------------------


@dataclass
class Keys:
    fernet: list[bytes]
    index: bytes


@dataclass
class Keyring:
    """The keys of one app: from settings, or from the key file (re-read when a token fails)."""

    keys: Keys
    path: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in self.keys.fernet])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            if not self.reload():
                raise PiiKeyError(
                    "no personal-data key opens a stored value: check PII_KEYS or PII_KEY_FILE"
                ) from None
            return self.decrypt(token)

    def rotate(self, token: str) -> str:
        """The token re-encrypted under the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise PiiKeyError("no personal-data key opens a stored value") from None

    def key_of(self, token: str) -> int | None:
        """Which key (0 = newest) opens `token`; None when none does."""
        for position, key in enumerate(self.keys.fernet):
            try:
                Fernet(key).decrypt(token.encode("ascii"))
                return position
            except InvalidToken:
                continue
        return None

    def reload(self) -> bool:
        """Re-read the key file; True when it now holds keys this ring did not."""
        if self.path is None or not self.path.exists():
            return False
        with self._lock:
            keys = read_key_file(self.path)
            if keys.fernet == self.keys.fernet:
                return False
            self.keys = keys
            self._fernet = MultiFernet([Fernet(k) for k in keys.fernet])
            log.info("personal-data keys re-read from %r", str(self.path))
            return True

    def blind_index(self, normalised: str) -> str:
        return hmac.new(self.keys.index, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def new_fernet_key() -> bytes:
    return Fernet.generate_key()


def read_key_file(path: Path) -> Keys:
    fernet: list[bytes] = []
    index: bytes | None = None
    for line in path.read_text("ascii").splitlines():
        name, _sep, value = line.strip().partition("=")
        if name == "index":
            index = bytes.fromhex(value.strip())
        elif name == "fernet":
            fernet.append(value.strip().encode("ascii"))
    if not fernet or not index:
        raise PiiKeyError(f"{path} holds no fernet= key or no index= key")
    return Keys(fernet, index)


def write_key_file(path: Path, keys: Keys) -> None:
    """Write the key file atomically, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = _FILE_HEADER + f"index={keys.index.hex()}\n"
    body += "".join(f"fernet={k.decode('ascii')}\n" for k in keys.fernet)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
    os.replace(tmp, path)


def create_key_file(path: Path) -> bool:
    """Create the key file with fresh keys unless it exists; True when created."""
    if path.exists():
        return False
    write_key_file(path, Keys([new_fernet_key()], secrets.token_bytes(32)))
    return True


def keys_from_settings(config: dict[str, Any]) -> Keys | None:
    """The keys given as settings (PII_KEYS and PII_INDEX_KEY), or None when not given."""
    raw = config.get("PII_KEYS")
    if not raw:
        return None
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    fernet = [str(k).strip().encode("ascii") for k in items if str(k).strip()]
    index = config.get("PII_INDEX_KEY")
    if not fernet or not index:
        raise PiiKeyError("PII_KEYS needs PII_INDEX_KEY beside it (64 hex characters)")
    return Keys(fernet, bytes.fromhex(str(index)))


def load_keyring(config: dict[str, Any]) -> Keyring:
    """The app's keys: the settings, else the key file (created unless in production)."""
    given = keys_from_settings(config)
    if given is not None:
        return Keyring(given)
    path = Path(config["PII_KEY_FILE"])
    if not path.exists():
        if config.get("PRODUCTION"):
            raise PiiKeyError(f"no personal-data keys: set PII_KEYS or create {path}")
        create_key_file(path)
        log.warning("created the personal-data key file %r: back it up", str(path))
    return Keyring(read_key_file(path), path)


def keyring() -> Keyring:
    return current_app.extensions[_EXTENSION]


# -- columns -------------------------------------------------------------------------------------


class Encrypted(TypeDecorator[str]):
    """Text stored as a Fernet token under the app's newest key; compared only through a blind
    index (an equality test on the token could never match, so it is refused)."""

    impl = Text
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            nullish = all(o is None for o in other)
            if op in (operators.is_, operators.is_not) or (
                nullish and op in (operators.eq, operators.ne)
            ):
                return super().operate(op, *other, **kwargs)
            raise TypeError("an encrypted column is compared through its blind index")

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring().decrypt(value)


def blind_index(value: str | None) -> str | None:
    """The lookup key of a normalised value (None for None)."""
    return None if value is None else keyring().blind_index(value)


def id_number_key(value: str | None) -> str | None:
    """An ID number as compared: trimmed, upper-case X."""
    return value.strip().upper() or None if value else None


def encrypted_columns(metadata: Any) -> Iterator[tuple[Table, list[Column[Any]]]]:
    """Every table of `metadata` with its encrypted columns."""
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, Encrypted)]
        if columns:
            yield table, columns


def is_encrypted(column: Any) -> bool:
    return isinstance(getattr(column, "type", None), Encrypted)


# -- masking -------------------------------------------------------------------------------------


def mask(value: Any) -> str:
    """An ID number or phone with its middle hidden: 1101**********1234, 138****5678."""
    if value is None or value == "":
        return ""
    text = str(value)
    if "*" in text:  # already masked (audit rows are stored masked)
        return text
    n = len(text)
    head, tail = (4, 4) if n >= 15 else (3, 4) if n >= 9 else (1, 2) if n >= 5 else (0, 0)
    return text[:head] + "*" * (n - head - tail) + text[n - tail :] if tail else "*" * n


# -- rotation ------------------------------------------------------------------------------------


def _raw(column: Column[Any]) -> Any:
    """The column read as its stored token, not decrypted."""
    from sqlalchemy import type_coerce

    return type_coerce(column, Text)


def count_tokens(engine: Any, metadata: Any) -> int:
    total = 0
    with engine.connect() as conn:
        for table, columns in encrypted_columns(metadata):
            for column in columns:
                stmt = select(func.count()).select_from(table).where(column.is_not(None))
                total += conn.scalar(stmt) or 0
    return total


def tokens_by_key(engine: Any, metadata: Any, ring: Keyring) -> dict[int | None, int]:
    """How many stored values each key (0 = newest; None = no key) opens."""
    counts: dict[int | None, int] = {}
    with engine.connect() as conn:
        for _table, columns in encrypted_columns(metadata):
            for column in columns:
                stmt = select(_raw(column)).where(column.is_not(None))
                for token in conn.scalars(stmt):
                    position = ring.key_of(token)
                    counts[position] = counts.get(position, 0) + 1
    return counts


def reencrypt(
    engine: Any, metadata: Any, ring: Keyring, progress: Any = None, check: Any = None
) -> int:
    """Rewrite every encrypted value under the newest key, one short transaction per batch.

    Each row is updated only if its token is still the one read (a value saved meanwhile is
    already under a current key), so running it again, or beside the app, loses nothing."""
    total = count_tokens(engine, metadata)
    done = 0
    for table, columns in encrypted_columns(metadata):
        pk = next(iter(table.primary_key.columns))
        for column in columns:
            last = None
            while True:
                if check:
                    check()
                with engine.begin() as conn:
                    stmt = select(pk, _raw(column)).where(column.is_not(None)).order_by(pk)
                    if last is not None:
                        stmt = stmt.where(pk > last)
                    rows = conn.execute(stmt.limit(_BATCH)).all()
                    if not rows:
                        break
                    _rewrite(conn, table, pk, column, ring, rows)
                last = rows[-1][0]
                done += len(rows)
                if progress:
                    progress(done, total)
    return done


def _rewrite(conn: Any, table: Table, pk: Any, column: Any, ring: Keyring, rows: list) -> None:
    stmt = (
        update(table)
        .where(pk == bindparam("_pk"), _raw(column) == bindparam("_old", type_=Text()))
        .values({column.name: bindparam("_new", type_=Text())})
    )
    conn.execute(
        stmt, [{"_pk": key, "_old": token, "_new": ring.rotate(token)} for key, token in rows]
    )


def _reencrypt_task(ctx: Any) -> dict[str, Any]:
    from ..db import db

    ring = keyring()
    ring.reload()
    stage = str(_l("Re-encrypting personal data"))
    rows = reencrypt(
        db.engine,
        db.metadata,
        ring,
        progress=lambda done, total: ctx.progress(done, total, stage=stage),
        check=ctx.check_cancelled,
    )
    return {"values": rows}


# -- front door and commands ---------------------------------------------------------------------

keys_cli = AppGroup("keys", help="Keys of the personal data encrypted at rest.")


@keys_cli.command("init")
def init_command() -> None:
    """Create the key file (PII_KEY_FILE) unless it exists."""
    path = Path(current_app.config["PII_KEY_FILE"])
    if current_app.config.get("PII_KEYS"):
        click.echo("PII_KEYS is set: the keys come from the settings, no key file is used.")
    elif create_key_file(path):
        click.echo(f"Created {path} (mode 0600). Back it up apart from the database.")
    else:
        click.echo(f"{path} exists; nothing changed.")


@keys_cli.command("rotate")
@click.option("--no-job", is_flag=True, help="Add the key only; re-encrypt later.")
def rotate_command(no_job: bool) -> None:
    """Put a new key first and re-encrypt every value under it (as a background job)."""
    from ..db import db
    from .jobs import enqueue

    ring = keyring()
    if ring.path is None:
        key = new_fernet_key().decode("ascii")
        click.echo(
            "The keys come from PII_KEYS: put this new key first in PII_KEYS on every host, "
            f"restart, then run `flask keys rotate` again to re-encrypt:\n{key}"
        )
        return
    keys = read_key_file(ring.path)
    write_key_file(ring.path, Keys([new_fernet_key(), *keys.fernet], keys.index))
    ring.reload()
    click.echo(f"A new key is first in {ring.path} ({len(ring.keys.fernet)} keys).")
    if not no_job:
        job = enqueue(db.session, REENCRYPT_TASK, {}, title="keys")
        db.session.commit()
        click.echo(f"Job {job.id} re-encrypts every value (`flask jobs list`, /admin/jobs).")


@keys_cli.command("reencrypt")
def reencrypt_command() -> None:
    """Add the re-encryption job (after putting a new key first in PII_KEYS)."""
    from ..db import db
    from .jobs import enqueue

    job = enqueue(db.session, REENCRYPT_TASK, {}, title="keys")
    db.session.commit()
    click.echo(f"Job {job.id} re-encrypts every value.")


@keys_cli.command("status")
def status_command() -> None:
    """How many stored values each key opens (0 is the newest)."""
    from ..db import db

    counts = tokens_by_key(db.engine, db.metadata, keyring())
    for position in sorted(counts, key=lambda p: (p is None, p)):
        name = "no key" if position is None else f"key {position}"
        click.echo(f"{name}: {counts[position]}")
    if not counts:
        click.echo("no encrypted values")


@keys_cli.command("drop-old")
def drop_old_command() -> None:
    """Remove every key but the newest from the key file once no value needs them."""
    from ..db import db

    ring = keyring()
    counts = tokens_by_key(db.engine, db.metadata, ring)
    if any(position != 0 for position in counts):
        raise click.ClickException(f"values still need older keys: {counts}; re-encrypt first")
    if ring.path is None:
        raise click.ClickException("the keys come from PII_KEYS: remove the old ones there")
    write_key_file(ring.path, Keys(ring.keys.fernet[:1], ring.keys.index))
    ring.reload()
    click.echo("Only the newest key is kept.")


def init_app(app: Flask) -> None:
    from .jobs import register_task

    app.extensions[_EXTENSION] = load_keyring(app.config)
    register_task(
        app, REENCRYPT_TASK, _reencrypt_task, max_attempts=3, label=_l("Re-encrypt personal data")
    )
    app.cli.add_command(keys_cli)
