"""Measure an older commit first: `--before REF` in the lock benchmarks.

The script re-runs itself in a child process on `git archive REF` (pointed at by the
IMPORT_LOCK_CODE environment variable, which the scripts put first on `sys.path`), so the
before and after figures come from one command on one machine state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_before(ref: str, script: str) -> None:
    """Run `script` with this command's arguments (less `--before REF`) on `git archive REF`."""
    code = Path(tempfile.mkdtemp(prefix="bench-before-")) / "code"
    code.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
    argv = list(sys.argv[1:])
    i = argv.index("--before")
    del argv[i : i + 2]
    print(f"== before: {ref}", flush=True)
    subprocess.run(
        [sys.executable, script, *argv],
        env=dict(os.environ, IMPORT_LOCK_CODE=str(code)),
        check=True,
    )
    print("== after: this tree", flush=True)
