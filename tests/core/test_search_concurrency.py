"""Writes through the IndexWriterGate: concurrent writers lose nothing, busy indexes fail clearly,
and a writer that waits through a rebuild writes to the new generation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from expertpool.core.search import IndexBusyError, IndexSpec, SearchIndex

ROOT = Path(__file__).resolve().parents[2]
SPEC = IndexSpec("materials", {"title": 2.0, "body": 1.0}, filter_fields=("status",))

# A writer process: says "ready" once imported, waits for a line, then writes and reports.
WRITER = textwrap.dedent("""
    import sys
    from expertpool.core.search import IndexSpec, SearchIndex
    spec = IndexSpec("materials", {"title": 2.0, "body": 1.0}, filter_fields=("status",))
    ix = SearchIndex(sys.argv[1], spec, lock_timeout=60)
    prefix, mode = sys.argv[2], sys.argv[3]
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "hold":
        with ix.gate.writer() as w:
            w.add_document(id=prefix, title="持锁写入")
            print("holding", flush=True)
            sys.stdin.readline()
    else:
        for batch in range(10):
            ix.add({"id": f"{prefix}-{batch}-{i}", "title": f"重金属标准物质 {prefix}"}
                   for i in range(5))
    print("done", flush=True)
""")


def doc(doc_id: str, title: str = "土壤重金属标准物质") -> dict[str, str]:
    return {"id": doc_id, "title": title, "status": "active"}


def all_ids(ix: SearchIndex) -> set[str]:
    with ix.searcher() as s:
        return set() if s is None else {f["id"] for f in s.all_stored_fields()}


class Writer:
    """A writer subprocess driven line by line (no sleeps)."""

    def __init__(self, root: Path, prefix: str, mode: str = "write") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), prefix, mode],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.expect("ready")

    def expect(self, word: str) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != word:
            raise AssertionError(f"expected {word!r}, got {line!r}: {self.proc.stderr.read()}")

    def send(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self) -> None:
        self.expect("done")
        assert self.proc.wait(timeout=60) == 0


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.wait(timeout=10)
        for stream in (w.proc.stdin, w.proc.stdout, w.proc.stderr):
            if stream:
                stream.close()


def test_two_threads_writing_lose_nothing(tmp_path: Path) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        ix = SearchIndex(tmp_path, SPEC, lock_timeout=30)  # its own object, as in two requests
        try:
            start.wait(timeout=10)
            for batch in range(10):
                ix.add(doc(f"{prefix}-{batch}-{i}") for i in range(5))
        except BaseException as e:  # reported below; a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    ix = SearchIndex(tmp_path, SPEC)
    assert ix.doc_count() == 100
    assert all_ids(ix) == {f"{p}-{b}-{i}" for p in "ab" for b in range(10) for i in range(5)}
    assert ix.search("重金属", per_page=1).total == 100


def test_two_processes_writing_lose_nothing(tmp_path: Path, writers: list[Writer]) -> None:
    writers += [Writer(tmp_path, "p"), Writer(tmp_path, "q")]
    for w in writers:  # both are imported and waiting: start them together
        w.send()
    for w in writers:
        w.finish()
    ix = SearchIndex(tmp_path, SPEC)
    assert all_ids(ix) == {f"{p}-{b}-{i}" for p in "pq" for b in range(10) for i in range(5)}


def test_busy_index_in_this_process_fails_after_the_timeout(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    impatient = SearchIndex(tmp_path, SPEC, lock_timeout=0.2)
    with ix.gate.writer() as w:
        w.add_document(id="held")
        with pytest.raises(IndexBusyError, match=r"'materials'.*0\.2 s"):
            impatient.add([doc("late")])
    impatient.add([doc("late")])
    assert all_ids(ix) == {"held", "late"}


def test_busy_index_in_another_process_fails_after_the_timeout(
    tmp_path: Path, writers: list[Writer]
) -> None:
    holder = Writer(tmp_path, "holder", mode="hold")
    writers.append(holder)
    holder.send()
    holder.expect("holding")
    impatient = SearchIndex(tmp_path, SPEC, lock_timeout=0.3)
    with pytest.raises(IndexBusyError, match="stayed locked"):
        impatient.add([doc("late")])
    holder.send()
    holder.finish()
    impatient.add([doc("late")])
    assert all_ids(impatient) == {"holder", "late"}


def test_writer_waiting_through_a_rebuild_writes_to_the_new_index(
    tmp_path: Path, writers: list[Writer]
) -> None:
    ix = SearchIndex(tmp_path, SPEC, lock_timeout=30)
    ix.add([doc("old")])
    other = Writer(tmp_path, "p")
    writers.append(other)
    thread_error: list[BaseException] = []

    def thread_write() -> None:
        try:
            SearchIndex(tmp_path, SPEC, lock_timeout=30).add([doc("thread")])
        except BaseException as e:  # reported below
            thread_error.append(e)

    thread = threading.Thread(target=thread_write)

    def source() -> Iterator[dict[str, str]]:
        yield doc("rebuilt-0")
        # The rebuild holds the gate now: both writers must wait for it.
        other.send()
        thread.start()
        for i in range(1, 200):
            yield doc(f"rebuilt-{i}")

    assert ix.rebuild(source(), total=200, progress=False) == 200
    thread.join(timeout=60)
    other.finish()
    assert thread_error == []
    got = all_ids(ix)
    assert "old" not in got  # the rebuild replaced the index ...
    assert {"thread", "p-9-4", "rebuilt-199"} <= got  # ... and no waiting write was lost
    assert len(got) == 200 + 1 + 50
