"""Named Whoosh indexes under one directory: schema from the caller, gated writes, fresh readers.

Layout: ``<root>/<name>/CURRENT`` names the live generation directory ``<root>/<name>/gen-NNNNNN``.
`rebuild` fills a new generation and then replaces CURRENT atomically, so searchers never see
a half-built index and a schema change needs nothing more than a rebuild. ``<root>/<name>/SYNCED``
(the "mark", optional) records what the live generation holds in terms the caller defines (the
app stores the database change-log version it applied: `expertpool.core.search.changes`); a
mark naming another generation is void, so a rebuild by other means is never mistaken for it.

Query semantics (the choices, and why):

* Words separated by spaces are combined with AND ("ICP-MS 土壤" narrows, as users expect
  from web search). If that finds nothing, the query is re-run with OR scored by
  ``OrGroup.factory(0.9)`` (documents matching more of the words rank higher) and the page is
  marked ``relaxed``. Long free-text queries (an RM application text given to the expert
  matcher) should ask for ``match="any"`` directly.
* A run without spaces that the analyzer splits into several words (重金属检测 -> 重金属, 检测;
  ICP-MS -> icp, ms) must have all its words in the same field, and scores higher when they
  are adjacent: ``AndMaybe(And(words), Phrase(words))``. Whoosh's default would use the
  group's class for this, i.e. silently turn 重金属检测 into OR when the group is OR.
* A CJK query word that is a dictionary compound also matches its finer pieces, because the
  same characters may have been segmented differently in a document (国家标准 inside
  国家/标准物质): strictly as a phrase of the pieces, relaxed as their co-occurrence. The
  pieces are skipped when they are too common to check cheaply (`PIECE_DF_LIMIT`).
* Field syntax (``status:x``), wildcards and fuzzy terms are switched off: colons and
  asterisks occur in ordinary text, and filters are the caller's job, not the user's.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.idsets import BitSet
from whoosh.index import FileIndex
from whoosh.qparser import AndGroup, OrGroup, QueryParser, plugins
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from .analysis import finer_split, rm_analyzer
from .highlight import highlight_text
from .termscores import TermScorer

log = logging.getLogger(__name__)

Match = Literal["auto", "all", "any"]
FilterValue = str | int | Iterable[str | int]

_GEN_RE = re.compile(r"^gen-(\d{6})$")
_OR_SCALE = 0.9  # coordination bonus for OR queries: more matched words, higher score
# The finer-piece alternative of a query word (see `_RmParser._term`) is only searched when
# its rarest piece is in at most this many documents: a phrase check per candidate costs
# ~30 µs, and common pieces (标准 + 物质) would cost seconds on 100k documents.
PIECE_DF_LIMIT = 1000
# An OR of more than LONG_OR clauses is a text (an abstract sent by the expert matcher), not a
# few typed words. It keeps only its rarest clauses, up to MAX_OR_CLAUSES and, beyond the
# first, MAX_OR_POSTINGS postings in all: scoring costs ~4 µs per posting in Whoosh, and the
# common words cost the most and weigh the least (low idf).
LONG_OR = 8
MAX_OR_CLAUSES = 32
MAX_OR_POSTINGS = 30_000
_FILTER_CACHE_SIZE = 64  # distinct filter combinations remembered per searcher
_QUERY_TERMS_KEPT = 512  # queries whose analysed terms a SearchIndex keeps
MARK_FILE = "SYNCED"
SYNC_LOCK_FILE = ".sync.lock"


class IndexBusyError(RuntimeError):
    """Another writer held the index lock for longer than the gate's timeout."""


@dataclass(frozen=True)
class IndexSpec:
    """What a caller puts in an index.

    `text_fields` maps each searchable field to its BM25F boost. The boost is applied at index
    time to term frequencies (Whoosh's `field_boost`), i.e. before BM25 saturation as BM25F
    prescribes, so changing a boost needs a `rebuild`. Filter fields take a string or a list
    of strings and are matched exactly; stored fields are only given back.
    """

    name: str
    text_fields: Mapping[str, float]
    filter_fields: Collection[str] = ()
    stored_fields: Collection[str] = ()
    id_field: str = "id"

    def schema(self) -> Schema:
        analyzer = rm_analyzer()
        fields: dict[str, Any] = {self.id_field: ID(stored=True, unique=True)}
        for name, boost in self.text_fields.items():
            fields[name] = TEXT(
                analyzer=analyzer, stored=True, field_boost=float(boost), multitoken_query="and"
            )
        for name in self.filter_fields:
            fields[name] = KEYWORD(stored=True, commas=True, scorable=False, lowercase=False)
        for name in self.stored_fields:
            fields[name] = STORED()
        return Schema(**fields)


@dataclass(frozen=True)
class KeywordHit:
    """One keyword result; `matched` (words as written) and `snippets` are per text field and
    only filled when snippets are asked for."""

    doc_id: str
    score: float
    rank: int
    fields: dict[str, Any]
    matched: dict[str, tuple[str, ...]] = field(default_factory=dict)
    snippets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeywordPage:
    hits: list[KeywordHit]
    total: int
    page: int
    per_page: int
    relaxed: bool = False  # True when AND found nothing and the OR query was used


class _RmParser(QueryParser):
    """Multi-field parser with the multi-token and grouping rules from the module docstring."""

    def __init__(
        self,
        fieldnames: list[str],
        schema: Schema,
        strict: bool,
        doc_frequency: Callable[[str, str], int] | None = None,
    ) -> None:
        group = AndGroup if strict else OrGroup.factory(_OR_SCALE)
        super().__init__(None, schema, group=group)
        self.add_plugin(plugins.MultifieldPlugin(fieldnames))
        for plugin in (
            plugins.FieldsPlugin,
            plugins.WildcardPlugin,
            plugins.FuzzyTermPlugin,
            plugins.RangePlugin,
            plugins.BoostPlugin,
        ):
            self.remove_plugin_class(plugin)
        self.strict = strict
        self.doc_frequency = doc_frequency
        self.termclass = self._term

    def _term(self, fieldname: str, text: str, boost: float = 1.0) -> Q.Query:
        """A term, or for a CJK compound also its finer pieces (see `analysis.finer_split`).

        Strict: the pieces must be adjacent (the same string, segmented differently);
        relaxed: they only have to co-occur. Skipped when the pieces are too common to check
        cheaply; without `doc_frequency` (no index at hand) pieces are always included.
        """
        term = Q.Term(fieldname, text, boost=boost)
        pieces = finer_split(text)
        if not pieces or not self._cheap(fieldname, pieces):
            return term
        if self.strict:
            return Q.Or([term, Q.Phrase(fieldname, list(pieces), boost=boost)])
        return Q.Or([term, Q.And([Q.Term(fieldname, p, boost=boost) for p in pieces])])

    def _cheap(self, fieldname: str, pieces: tuple[str, ...]) -> bool:
        if self.doc_frequency is None:
            return True
        return min(self.doc_frequency(fieldname, p) for p in pieces) <= PIECE_DF_LIMIT

    def multitoken_query(
        self, spec: str, texts: list[str], fieldname: str, termclass: type, boost: float
    ) -> Q.Query:
        terms = [termclass(fieldname, t, boost=boost) for t in texts]
        if not self.strict:
            return Q.Or(terms, scale=_OR_SCALE)
        return Q.AndMaybe(Q.And(terms), Q.Phrase(fieldname, texts, boost=boost))


# One in-process lock per index directory: threads queue here instead of polling the file lock.
_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(path: Path) -> threading.Lock:
    key = os.path.realpath(path)
    with _process_locks_guard:
        return _process_locks.setdefault(key, threading.Lock())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Short blocking lock for creating/swapping generations (not for document writes)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def _file_lock_within(path: Path, deadline: float, delay: float = 0.02) -> Iterator[bool]:
    """Exclusive file lock, polled until `deadline`; yields whether it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(delay)  # flock has no timed wait
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class IndexWriterGate:
    """The one way into an index for writing.

    Threads of this process queue on a lock; processes meet at Whoosh's file lock, polled every
    `delay` seconds (like Whoosh's AsyncWriter) until `timeout`, after which `IndexBusyError`
    says which index was busy. A writer that waited through a `rebuild` notices that the
    generation changed and writes to the new one, so nothing is written to a retired index.
    """

    def __init__(self, index: SearchIndex, timeout: float = 10.0, delay: float = 0.05) -> None:
        self.index = index
        self.timeout = timeout
        self.delay = delay

    @contextmanager
    def writer(self, *, optimize: bool = False, **writer_kwargs: Any) -> Iterator[IndexWriter]:
        """Yield a Whoosh writer; commit on normal exit, cancel on an exception."""
        with self._locked() as ix:
            built = set(ix.schema.names())
            if built != set(self.index.schema.names()):
                raise ValueError(
                    f"search index {self.index.spec.name!r} was built with fields "
                    f"{sorted(built)}; rebuild() it for the new spec"
                )
            w = ix.writer(_lk=False, **writer_kwargs)  # we already hold Whoosh's lock
            try:
                yield w
            except BaseException:
                w.cancel()
                raise
            w.commit(optimize=optimize)

    @contextmanager
    def exclusive(self) -> Iterator[FileIndex]:
        """Hold the live generation's write lock without writing to it: for `rebuild`."""
        with self._locked() as ix:
            yield ix

    @contextmanager
    def _process_locked(self) -> Iterator[float]:
        deadline = time.monotonic() + self.timeout
        lock = _process_lock(self.index.path)
        if not lock.acquire(timeout=self.timeout):
            raise self._busy()
        try:
            yield deadline
        finally:
            lock.release()

    @contextmanager
    def _locked(self) -> Iterator[FileIndex]:
        with self._process_locked() as deadline:
            while True:
                ix = self.index._open_current()
                writelock = ix.lock("WRITELOCK")
                if not _try_for(writelock.acquire, deadline, self.delay):
                    raise self._busy()
                if self.index.generation_path() == Path(ix.storage.folder):
                    break
                writelock.release()  # a rebuild swapped generations while we waited
            try:
                yield ix
            finally:
                writelock.release()

    def _busy(self) -> IndexBusyError:
        return IndexBusyError(
            f"search index {self.index.spec.name!r} at {self.index.path} stayed locked by "
            f"another writer for {self.timeout:g} s; try again later"
        )


def _try_for(acquire: Any, deadline: float, delay: float) -> bool:
    while not acquire():
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)  # polling is the only way to wait on Whoosh's non-blocking lock
    return True


class SearchIndex:
    """One named index: gated writes, per-thread searchers refreshed after commits."""

    def __init__(self, root: Path | str, spec: IndexSpec, *, lock_timeout: float = 10.0) -> None:
        self.spec = spec
        self.path = Path(root) / spec.name
        self.schema = spec.schema()
        self.analyzer = self.schema[next(iter(spec.text_fields))].analyzer
        self.gate = IndexWriterGate(self, timeout=lock_timeout)
        self.text_fieldnames = list(spec.text_fields)
        self._local = threading.local()
        self._indexes: dict[Path, FileIndex] = {}
        self._indexes_guard = threading.Lock()
        self._term_scorer = TermScorer(spec.text_fields, spec.id_field)
        # Query text -> its analysed terms: parsing is the dear part of marking a page's
        # snippets (~5 ms for a submission's query), and pages ask again for the same query.
        self._query_terms: dict[str, frozenset[str]] = {}

    # -- generations -------------------------------------------------------------------------

    def current_generation(self) -> str | None:
        try:
            name = (self.path / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def generation_path(self) -> Path | None:
        gen = self.current_generation()
        return self.path / gen if gen else None

    def _open_current(self) -> FileIndex:
        """The live generation, created empty on first use."""
        path = self.generation_path() or self._create_first_generation()
        return self._file_index(path)

    def _file_index(self, path: Path) -> FileIndex:
        with self._indexes_guard:
            ix = self._indexes.get(path)
            if ix is None:
                ix = self._indexes[path] = whoosh_index.open_dir(str(path))
            return ix

    def _create_first_generation(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.path / ".generation.lock"):
            current = self.generation_path()
            if current is not None:  # another process created it first
                return current
            path = self._new_generation_dir()
            whoosh_index.create_in(str(path), self.schema)
            self._set_current(path.name)
            return path

    def _new_generation_dir(self) -> Path:
        numbers = [int(m.group(1)) for p in self.path.iterdir() if (m := _GEN_RE.match(p.name))]
        path = self.path / f"gen-{max(numbers, default=0) + 1:06d}"
        path.mkdir()
        return path

    def _set_current(self, gen: str) -> None:
        tmp = self.path / f"CURRENT.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(gen + "\n")
        os.replace(tmp, self.path / "CURRENT")  # atomic: readers see the old or the new name

    def _remove_old_generations(self, keep: Collection[str]) -> None:
        # The previous generation is kept: a search that opened it just before the swap may
        # still be reading files it has not opened yet.
        for p in self.path.iterdir():
            if _GEN_RE.match(p.name) and p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)
                with self._indexes_guard:
                    self._indexes.pop(p, None)

    # -- the mark: what the live generation holds ------------------------------------------------

    def read_mark(self) -> dict[str, Any] | None:
        """The mark written with the live generation, or None (none, unreadable, or another's)."""
        try:
            data = json.loads((self.path / MARK_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("generation") != self.current_generation():
            return None
        return data.get("mark")

    def _write_mark(self, generation: str, mark: Mapping[str, Any]) -> None:
        tmp = self.path / f"{MARK_FILE}.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(json.dumps({"generation": generation, "mark": dict(mark)}))
        os.replace(tmp, self.path / MARK_FILE)

    @contextmanager
    def sync_lock(self, timeout: float) -> Iterator[bool]:
        """One updater of this index at a time, across threads and processes; yields whether
        it was taken within `timeout` seconds (a caller that gives up serves what is there)."""
        deadline = time.monotonic() + timeout
        lock = _process_lock(self.path / SYNC_LOCK_FILE)
        if not lock.acquire(timeout=max(timeout, 0)):
            yield False
            return
        try:
            with _file_lock_within(self.path / SYNC_LOCK_FILE, deadline) as taken:
                yield taken
        finally:
            lock.release()

    # -- writing -----------------------------------------------------------------------------

    def replace(
        self,
        key_field: str,
        docs_by_key: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        mark: Mapping[str, Any] | None = None,
    ) -> int:
        """Make the index hold exactly `docs_by_key[k]` for each key `k` of `key_field` (the id
        field, or a filter field such as a course id), in one commit; returns documents written.

        With `mark`, it is recorded as the mark of the generation written to, after the commit.
        """
        if key_field != self.spec.id_field and key_field not in self.spec.filter_fields:
            raise ValueError(f"{key_field!r} is neither the id nor a filter field")
        count = 0
        with self.gate.writer() as w:
            generation = Path(w.storage.folder).name
            for key in docs_by_key:
                w.delete_by_term(key_field, str(key))
            for docs in docs_by_key.values():
                for doc in docs:
                    w.update_document(**self._prepare(doc))
                    count += 1
        if mark is not None:
            self._write_mark(generation, mark)
        return count

    def add(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Add documents known to be new (no duplicate check: use `update` for upserts)."""
        count = 0
        with self.gate.writer() as w:
            for doc in docs:
                w.add_document(**self._prepare(doc))
                count += 1
        return count

    def update(self, docs: Iterable[Mapping[str, Any]]) -> int:
        """Insert or replace documents by id."""
        count = 0
        with self.gate.writer() as w:
            for doc in docs:
                w.update_document(**self._prepare(doc))
                count += 1
        return count

    def delete(self, ids: Iterable[str | int]) -> int:
        with self.gate.writer() as w:
            return sum(w.delete_by_term(self.spec.id_field, str(i)) for i in ids)

    def optimize(self) -> None:
        """Merge all segments (also drops deleted documents from the BM25 statistics)."""
        with self.gate.writer(optimize=True):
            pass

    def rebuild(
        self,
        docs: Iterable[Mapping[str, Any]],
        total: int | None = None,
        *,
        progress: bool | None = None,
        mark: Mapping[str, Any] | None = None,
    ) -> int:
        """Index `docs` into a fresh generation and swap it in; returns the document count.

        Writers wait at the gate meanwhile, so nothing written during the rebuild is lost to
        the retired generation. `progress=None` shows a tqdm bar only on a terminal. `mark`
        is recorded as the new generation's mark as it goes live.
        """
        with self.gate.exclusive():  # creates an empty first generation if there is none
            previous = self.current_generation()
            with _file_lock(self.path / ".generation.lock"):
                path = self._new_generation_dir()
            try:
                count = self._fill(path, docs, total, progress)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            if mark is not None:
                self._write_mark(path.name, mark)
            self._set_current(path.name)
        self._remove_old_generations(keep={path.name, previous or path.name})
        log.info("rebuilt search index %r: %d documents in %s", self.spec.name, count, path.name)
        return count

    def _fill(
        self,
        path: Path,
        docs: Iterable[Mapping[str, Any]],
        total: int | None,
        progress: bool | None,
    ) -> int:
        ix = whoosh_index.create_in(str(path), self.schema)
        w = ix.writer(limitmb=256)
        count = 0
        bar = tqdm(
            docs,
            total=total,
            desc=f"index {self.spec.name}",
            unit="doc",
            disable=None if progress is None else not progress,
        )
        try:
            for doc in bar:
                w.add_document(**self._prepare(doc))
                count += 1
        except BaseException:
            w.cancel()
            raise
        w.commit()
        return count

    def _prepare(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.spec
        unknown = set(doc) - {
            spec.id_field,
            *spec.text_fields,
            *spec.filter_fields,
            *spec.stored_fields,
        }
        if unknown:
            raise ValueError(f"fields not in index {spec.name!r}: {sorted(unknown)}")
        out: dict[str, Any] = {spec.id_field: str(doc[spec.id_field])}
        for name in spec.text_fields:
            if doc.get(name):
                out[name] = str(doc[name])
        for name in spec.filter_fields:
            if doc.get(name) is not None:
                out[name] = ",".join(_filter_values(doc[name]))
        for name in spec.stored_fields:
            if name in doc:
                out[name] = doc[name]
        return out

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def searcher(self) -> Iterator[Searcher | None]:
        """This thread's searcher, reopened after a rebuild and refreshed after a commit."""
        path = self.generation_path()
        local = self._local
        if path is None:
            yield None
            return
        s: Searcher | None = getattr(local, "searcher", None)
        if s is None or local.path != path or not s.up_to_date():
            # Not `s.refresh()`: Whoosh reuses the old per-segment readers there, which keep
            # their old deletion sets and even segments merged away (updated documents show
            # up twice). Reopening costs a few milliseconds, once per commit.
            if s is not None:
                s.close()
            s = self._file_index(path).searcher()
            local.path = path
            local.filter_sets = {}
        local.searcher = s
        yield s

    def doc_count(self) -> int:
        with self.searcher() as s:
            return 0 if s is None else s.doc_count()

    def parse(self, text: str, strict: bool = True, searcher: Searcher | None = None) -> Q.Query:
        """The Whoosh query for user text; with a searcher, too-common pieces are left out."""
        reader = searcher.reader() if searcher is not None else None
        df = None if reader is None else reader.doc_frequency
        # A parser per call: it carries the reader, and parsers are cheap (~0.1 ms).
        return _RmParser(self.text_fieldnames, self.schema, strict, df).parse(text)

    def query_terms(self, text: str) -> frozenset[str]:
        """Analysed terms of a user query (as the index stores them), for marking snippets."""
        terms = self._query_terms.get(text)
        if terms is None:
            terms = self._terms_of(self.parse(text, strict=False))
            if len(self._query_terms) >= _QUERY_TERMS_KEPT:
                self._query_terms.clear()
            self._query_terms[text] = terms
        return terms

    def _terms_of(self, q: Q.Query) -> frozenset[str]:
        return frozenset(t for f, t in q.iter_all_terms() if f in self.spec.text_fields)

    def filter_query(self, filters: Mapping[str, FilterValue] | None) -> Q.Query | None:
        """AND across fields, OR across the values given for one field."""
        if not filters:
            return None
        clauses = []
        for name, value in filters.items():
            if name not in self.spec.filter_fields:
                raise ValueError(f"{name!r} is not a filter field of index {self.spec.name!r}")
            clauses.append(Q.Or([Q.Term(name, v) for v in _filter_values(value)]))
        return Q.And(clauses)

    def _filter_set(self, s: Searcher, filters: Mapping[str, FilterValue] | None) -> BitSet | None:
        """The documents passing `filters`, cached per searcher: Whoosh would otherwise
        re-run the filter query on every search (~0.2 s for 100k documents)."""
        fq = self.filter_query(filters)
        if fq is None:
            return None
        cache: dict[Q.Query, BitSet] = self._local.filter_sets
        if fq not in cache:
            if len(cache) >= _FILTER_CACHE_SIZE:
                cache.clear()
            cache[fq] = BitSet(s.docs_for_query(fq), size=s.doc_count_all())
        return cache[fq]

    def search(
        self,
        text: str,
        *,
        filters: Mapping[str, FilterValue] | None = None,
        page: int = 1,
        per_page: int = 20,
        match: Match = "auto",
        snippets: bool = True,
        exact_total: bool = True,
    ) -> KeywordPage:
        """Ranked page of documents for a user query; an empty query lists filtered documents.

        With `exact_total=False` the total is only the number of hits collected: counting
        every match costs a second pass, a third of the time of a broad OR query.
        """
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page start at 1")
        with self.searcher() as s:
            fq = self._filter_set(s, filters) if s is not None else None
            if s is None or (fq is not None and not fq):  # Whoosh reads an empty set as "no filter"
                return KeywordPage([], 0, page, per_page)
            results, relaxed = self._run(s, text, fq, page * per_page, match)
            terms = self._terms_of(results.q) if snippets else frozenset()
            start = (page - 1) * per_page
            hits = [self._hit(h, terms) for h in results[start : start + per_page]]
            total = len(results) if exact_total else results.scored_length()
            return KeywordPage(hits, total, page, per_page, relaxed)

    def candidates(
        self,
        text: str,
        *,
        filters: Mapping[str, FilterValue] | None = None,
        limit: int = 100,
        match: Match = "auto",
    ) -> KeywordPage:
        """Top `limit` hits without snippets or exact total: the keyword list for fusion."""
        return self.search(
            text,
            filters=filters,
            page=1,
            per_page=limit,
            match=match,
            snippets=False,
            exact_total=False,
        )

    def term_scores(
        self, text: str, *, int_ids: bool = False, max_pairs: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, BM25F scores) of every live document with any word of `text` in any text field.

        For callers that need a score per document rather than a page (the expert matcher):
        numpy over cached posting arrays instead of Whoosh's per-posting loop (`termscores`).
        """
        terms = [t.text for t in self.analyzer(text, mode="query")]
        with self.searcher() as s:
            if s is None:
                return np.zeros(0, dtype=np.int64 if int_ids else object), np.zeros(0)
            return self._term_scorer.scores(s.reader(), terms, int_ids=int_ids, max_pairs=max_pairs)

    def _run(
        self, s: Searcher, text: str, fq: BitSet | None, limit: int, match: Match
    ) -> tuple[Any, bool]:
        if not text.strip():  # browsing: every score is equal, so give a stable order
            return s.search(Q.Every(), limit=limit, filter=fq, sortedby=self.spec.id_field), False
        strict = self.parse(text, strict=match != "any", searcher=s)
        if match == "any":
            strict = _rarest_clauses(strict, s)
        results = s.search(strict, limit=limit, filter=fq)
        if match != "auto" or results.scored_length() > 0:
            return results, False
        relaxed = _rarest_clauses(self.parse(text, strict=False, searcher=s), s)
        if relaxed == strict:
            return results, False
        return s.search(relaxed, limit=limit, filter=fq), True

    def _hit(self, hit: Any, terms: frozenset[str]) -> KeywordHit:
        """`terms` are those of the query actually run; none means no snippets wanted."""
        fields = self._stored(hit.fields())
        matched, marked = self.annotate(fields, terms) if terms else ({}, {})
        return KeywordHit(
            fields[self.spec.id_field], float(hit.score), hit.rank + 1, fields, matched, marked
        )

    def _stored(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(fields)
        for name in self.spec.filter_fields:
            if name in out:
                out[name] = [v for v in out[name].split(",") if v]
        return out

    def annotate(
        self,
        fields: Mapping[str, Any],
        terms: Collection[str],
        *,
        maxchars: int = 160,
        surround: int = 40,
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """Per text field: the matched words (as written) and a <mark>ed HTML snippet."""
        matched: dict[str, tuple[str, ...]] = {}
        marked: dict[str, str] = {}
        for name in self.spec.text_fields:
            hl = highlight_text(
                fields.get(name) or "", terms, self.analyzer, maxchars=maxchars, surround=surround
            )
            if hl is not None:
                matched[name], marked[name] = hl.matched, hl.html
        return matched, marked

    def documents(
        self, ids: Iterable[str], *, filters: Mapping[str, FilterValue] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Stored fields of the given ids that exist and pass `filters`, in the order given."""
        with self.searcher() as s:
            fq = self._filter_set(s, filters) if s is not None else None
            if s is None or (fq is not None and not fq):
                return {}
            out: dict[str, dict[str, Any]] = {}
            for doc_id in dict.fromkeys(str(i) for i in ids):
                # One term lookup per id (deleted documents skipped): an OR query over the ids
                # costs ~0.1 ms per id, three times as much, with the hybrid asking for 100s.
                num = s.document_number(**{self.spec.id_field: doc_id})
                if num is not None and (fq is None or num in fq):
                    out[doc_id] = self._stored(s.stored_fields(num))
            return out

    def close(self) -> None:
        s = getattr(self._local, "searcher", None)
        if s is not None:
            s.close()
            self._local.searcher = None


def _rarest_clauses(q: Q.Query, s: Searcher) -> Q.Query:
    """A long OR cut down to its rarest clauses within the limits above."""
    if not isinstance(q, Q.Or) or len(q.subqueries) <= LONG_OR:
        return q
    reader = s.reader()
    sized = sorted(
        (size, i, c) for i, c in enumerate(q.subqueries) if (size := c.estimate_size(reader))
    )  # a clause of size 0 matches nothing
    kept: list[Q.Query] = []
    postings = 0
    for size, _, clause in sized[:MAX_OR_CLAUSES]:
        if kept and postings + size > MAX_OR_POSTINGS:
            break
        kept.append(clause)
        postings += size
    return Q.Or(kept, boost=q.boost, scale=q.scale)


def _filter_values(value: FilterValue) -> list[str]:
    values = [value] if isinstance(value, (str, int)) else list(value)
    out = [str(v).strip() for v in values]
    if any("," in v for v in out):
        raise ValueError(f"filter values cannot contain commas: {out}")
    return out


class IndexManager:
    """All search indexes of the application, e.g. under ``instance/search``."""

    def __init__(self, root: Path | str, *, lock_timeout: float = 10.0) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self._indexes: dict[str, SearchIndex] = {}
        self._guard = threading.Lock()

    def index(self, spec: IndexSpec) -> SearchIndex:
        """The index for `spec`, created on first write; one object per name per manager."""
        with self._guard:
            ix = self._indexes.get(spec.name)
            if ix is None:
                ix = self._indexes[spec.name] = SearchIndex(
                    self.root, spec, lock_timeout=self.lock_timeout
                )
            elif ix.spec != spec:
                raise ValueError(f"index {spec.name!r} already opened with another spec")
            return ix

    def get(self, name: str) -> SearchIndex:
        return self._indexes[name]

    def close(self) -> None:
        """Close this thread's searchers and forget every index (e.g. after a restore)."""
        with self._guard:
            indexes, self._indexes = list(self._indexes.values()), {}
        for ix in indexes:
            ix.close()
