"""Uploads kept between an import's dry-run preview and its confirmation.

The preview stores the file under a random token; the confirmation names only the token, so
nothing else on disk can be reached, and the file is checked again before anything is written.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from pathlib import Path

from flask import current_app

from . import storage


def _folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage(prefix: str, filename: str, data: bytes, encoding: str) -> str:
    """Keep `data` (with the encoding chosen for it); returns the token that names it."""
    token = secrets.token_hex(16)
    storage.write(_folder(), f"{prefix}{token}{storage.safe_suffix(filename)}", data)
    storage.write(_folder(), f"{prefix}{token}.enc", encoding.encode())
    return token


def staged(prefix: str, token: str, suffixes: Collection[str]) -> tuple[Path, str] | None:
    """The staged file for `token` and its encoding, or None (expired or never staged)."""
    if not token.isalnum():
        return None
    matches = [p for p in _folder().glob(f"{prefix}{token}.*") if p.suffix in suffixes]
    if not matches:
        return None
    encoding_file = matches[0].with_suffix(".enc")
    encoding = encoding_file.read_text() if encoding_file.exists() else "utf-8"
    return matches[0], encoding


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_suffix(".enc").unlink(missing_ok=True)
