"""Course-material search: hybrid retrieval over passages, grouped by course, with facets.

The keyword and vector indexes are those of `search.index`; retrieval and fusion are the
search core's `HybridRetriever`. This module adds what the search page needs around it:
filters from the request, facet counts over the fused candidates, hits grouped by course, and
help when nothing is found (the words tried, spelling suggestions, related courses).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from html import escape
from typing import Any

import numpy as np
from flask import current_app
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh.spelling import ListCorrector

from expertpool.core.embeddings import ModelNotFound
from expertpool.core.embeddings.fairness import guess_lang
from expertpool.core.embeddings.store import VectorStore, get_store
from expertpool.core.pagination import page_arg, page_count
from expertpool.core.search import (
    HybridConfig,
    HybridRetriever,
    KeywordPage,
    SearchIndex,
    SearchPage,
    SemanticHit,
    highlight_text,
    normalize,
    plain_snippet,
)
from expertpool.core.search.analysis import raw_tokens
from expertpool.core.search.app import hybrid_config, index_exists
from expertpool.core.search.changes import synced_index
from expertpool.core.search.hybrid import Fused

from ..constants import AUDIENCES, LANGUAGES, LEVELS, PUBLISHED, TOPICS
from ..models import Course, Lesson
from .index import INDEX, SOURCE_TYPE, YES
from .ranking import course_order, roll_up

PER_PAGE = 20
MAX_PAGE = 25  # deeper pages make both sides rank page x 20 candidates: nobody reads that far
MAX_QUERY_CHARS = 200  # a pasted page of text is not a query; long ones cost the most
FACETS: dict[str, Mapping[str, Any]] = {
    "topic": TOPICS,
    "audience": AUDIENCES,
    "level": LEVELS,
    "language": LANGUAGES,
}
MODES = ("hybrid", "keyword", "semantic")
RELATED_COURSES = 3
MAX_WORDS_CHECKED = 8
SNIPPET_CHARS = 160  # what SearchIndex.annotate gives per field

Filters = Mapping[str, Any] | None


# -- the query -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialQuery:
    q: str = ""
    topic: str = ""
    audience: str = ""
    level: str = ""
    language: str = ""
    mode: str = "hybrid"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> MaterialQuery:
        """From request arguments; unknown facet values and modes are ignored."""

        def pick(name: str, allowed: Collection[str]) -> str:
            value = str(args.get(name, "") or "")
            return value if value in allowed else ""

        page = min(MAX_PAGE, page_arg(args))
        return cls(
            q=" ".join(str(args.get("q", "") or "").split())[:MAX_QUERY_CHARS],
            **{name: pick(name, values) for name, values in FACETS.items()},
            mode=pick("mode", MODES) or "hybrid",
            page=page,
        )

    def as_args(self, **changes: Any) -> dict[str, Any]:
        """URL arguments for this query with `changes`; a changed filter goes back to page 1."""
        if any(k != "page" for k in changes):
            changes.setdefault("page", 1)
        values = asdict(replace(self, **changes))
        return {
            k: v
            for k, v in values.items()
            if v and not (k == "mode" and v == "hybrid") and not (k == "page" and v == 1)
        }

    def filters(self, include_drafts: bool = False) -> dict[str, str]:
        chosen = {name: getattr(self, name) for name in FACETS if getattr(self, name)}
        return chosen if include_drafts else chosen | {"published": YES}

    @property
    def active_filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FACETS if getattr(self, name)}


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassageHit:
    doc_id: str
    rank: int
    lesson_id: int | None  # None: the course's own title and summary
    lesson_title: Markup
    heading: Markup  # "" when the passage has no heading of its own
    anchor: str
    source: str  # "course" | "markdown" | "pdf"
    page: int | None  # PDF page
    snippet: Markup
    found_by: tuple[str, ...]  # "keyword", "semantic"
    matched_terms: tuple[str, ...]  # words as written in the passage
    matched_fields: tuple[str, ...]
    semantic_score: float | None


@dataclass
class CourseGroup:
    slug: str
    title: Markup
    topic: str
    level: str
    language: str
    published: bool
    hits: list[PassageHit] = field(default_factory=list)


@dataclass(frozen=True)
class WordCheck:
    """A query word as typed, how many passages contain it, and close words that exist."""

    word: str
    count: int
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelatedCourse:
    slug: str
    title: str
    summary: str


@dataclass(frozen=True)
class NoResultsHelp:
    words: list[WordCheck]
    related: list[RelatedCourse]


@dataclass
class MaterialResults:
    query: MaterialQuery
    groups: list[CourseGroup]
    total: int
    page: int
    per_page: int
    mode: str
    facets: dict[str, Counter[str]]
    semantic_available: bool
    index_ready: bool
    relaxed: bool = False  # not every word was found together: any of them was used
    help: NoResultsHelp | None = None

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


# -- retrieval pieces --------------------------------------------------------------------------


class SemanticMaterials:
    """`SemanticSearch` over the vector store, pre-filtered to the courses the filters allow.

    `allowed(filters)` gives the ids of those courses (None: all); the query vector is kept,
    so asking twice for one query (results, then related courses) encodes it once.

    `min_best`: when even the best passage scores below it, the query is about something the
    material does not cover and nothing counts as a match (see COURSES_SEARCH_MIN_BEST_SCORE);
    `offsets` move it by the query's language (COURSES_SEARCH_GATE_OFFSET).
    """

    def __init__(
        self,
        store: VectorStore,
        allowed: Callable[[Filters], Collection[int] | None],
        min_best: float | None = None,
        offsets: Mapping[str, float] | None = None,
    ) -> None:
        self.store = store
        self.allowed = allowed
        self.min_best = min_best
        self.offsets = dict(offsets or {})
        self._vectors: dict[str, np.ndarray] = {}

    def gate(self, query: str) -> float | None:
        """The best score `query` needs for any semantic match (None: no gate)."""
        if self.min_best is None:
            return None
        return self.min_best + self.offsets.get(guess_lang(query), 0.0)

    def vector(self, query: str) -> np.ndarray:
        if query not in self._vectors:
            self._vectors[query] = self.store.encoder.encode_query(query)
        return self._vectors[query]

    def __call__(self, query: str, k: int, filters: Filters) -> list[SemanticHit]:
        rows = self.store.search(
            INDEX, self.vector(query), k, source_type=SOURCE_TYPE, allowed_ids=self.allowed(filters)
        )
        gate = self.gate(query)
        if gate is not None and (not rows or rows[0].score < gate):
            return []
        return [SemanticHit(chunk, score) for _type, _id, chunk, score in rows]

    def best_courses(self, query: str, filters: Filters, n: int) -> list[int]:
        """Ids of the `n` courses with the closest passages, however weak the match."""
        rows = self.store.search(
            INDEX,
            self.vector(query),
            n,
            source_type=SOURCE_TYPE,
            allowed_ids=self.allowed(filters),
            per_source=True,
        )
        return [source_id for _type, source_id, _chunk, _score in rows]


def allowed_courses(session: Session) -> Callable[[Filters], set[int]]:
    """Course ids passing the facet filters, read from the database (a few hundred rows)."""

    def allowed(filters: Filters) -> set[int]:
        wanted = dict(filters or {})
        rows = session.execute(
            select(
                Course.id,
                Course.topic,
                Course.audience,
                Course.level,
                Course.language,
                Course.status,
            )
        )
        return {r.id for r in rows if _course_passes(r, wanted)}

    return allowed


def _course_passes(row: Any, wanted: Mapping[str, Any]) -> bool:
    checks = {
        "topic": lambda v: row.topic == v,
        "audience": lambda v: v in (row.audience or []),
        "level": lambda v: row.level == v,
        "language": lambda v: row.language == v,
        "published": lambda v: (row.status == PUBLISHED) == (v == YES),
    }
    return all(checks[name](value) for name, value in wanted.items() if name in checks)


# Words that shape a question but say nothing about its subject. Matched literally they only
# add noise ("how", "i", 怎样 match everywhere); the semantic side still reads the whole question.
_QUESTION_WORDS = """
    how what which who whom whose why when where whether do does did done can could should
    would will shall may might must i me my we our us you your he she they them their it its
    this these those there here if then than so not no any some each other others all also
    very just about into been being was were has have had am get
    怎样 怎么 怎么样 怎么办 如何 什么 为什么 哪些 哪个 哪 是否 能不能 能否 可不可以 可以 要不要
    吗 呢 吧 啊 呀 应该 应当 会不会 有没有 多久 多少 几 一下 我 我们 你 你们 他们 这 那 这个
    那个 这些 那些 时候
"""
QUESTION_WORDS = frozenset(_QUESTION_WORDS.split())


def keyword_text(text: str) -> str:
    """`text` with question words cut out, for the keyword side ("ICP-MS" stays whole)."""
    cuts = [
        (t.start, t.end)
        for t in raw_tokens(text, overlays=False)
        if t.unit and normalize(text[t.start : t.end]) in QUESTION_WORDS
    ]
    return cut_out(text, cuts) or text  # a query of question words only: search them after all


def cut_out(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` without the (start, end) spans, in order; the rest keeps its adjacency."""
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return " ".join("".join(out).split())


# Cost caps for the keyword side of a large index, from bench/search.py at 100k passages:
# Whoosh intersects the posting lists of every word in each of the four text fields, so a
# ten-word question cost up to 960 ms (p50 66 ms). Its rarest words carry nearly all of BM25's
# weight; keeping four, and leaving out words found in over a tenth of the passages, brought
# p50 to 16 ms and p95 to 44 ms. Smaller indexes search every word: at 10k passages that costs
# p50 17 ms, and on the demo courses the cap lowered nDCG@10 from 0.724 to 0.718.
MAX_KEYWORDS = 4
COMMON_SHARE = 0.1
PRUNE_FROM_DOCS = 20_000


class MaterialKeywords:
    """The keyword index as the retriever sees it: the query without its question words,
    snippets marking whole query words only, and every candidate's fields remembered.

    Whole words: the index also searches a compound word's pieces (重金属 -> 重 + 金属), but
    marking those alone would put <mark> on the 重 of 较重; a passage found through pieces is
    still found, only not marked. The fused result set is the union of the keyword candidates
    and the semantic hits the index confirmed, so `seen` is exactly what facet counts need.
    """

    def __init__(
        self,
        index: SearchIndex,
        *,
        strip_question_words: bool = True,
        max_words: int | None = MAX_KEYWORDS,
        prune_from: int = PRUNE_FROM_DOCS,
    ) -> None:
        self.index = index
        self.analyzer = index.analyzer
        self.text_fieldnames = index.text_fieldnames
        self.strip = strip_question_words
        self.max_words = max_words
        self.prune_from = prune_from
        self.seen: dict[str, dict[str, Any]] = {}
        self._texts: dict[str, str] = {}
        self._marks: dict[tuple[str, frozenset[str]], tuple[tuple[str, ...], str] | None] = {}

    def text(self, query: str) -> str:
        """The words of `query` the keyword side searches for."""
        if query not in self._texts:
            text = keyword_text(query) if self.strip else query
            self._texts[query] = self.rarest_words(text) if self.max_words else text
        return self._texts[query]

    def rarest_words(self, text: str) -> str:
        """`text` cut down to its `max_words` rarest words, very common ones left out
        (only in an index of `prune_from` documents or more)."""
        tokens = [t for t in raw_tokens(text, overlays=False) if t.unit and not t.stopped]
        if len(tokens) <= 1:
            return text
        with self.index.searcher() as s:
            if s is None or s.doc_count_all() < self.prune_from:
                return text
            reader = s.reader()
            common = COMMON_SHARE * s.doc_count_all()
            ranked = sorted(
                (self._doc_frequency(reader, text[t.start : t.end]), i)
                for i, t in enumerate(tokens)
            )
        kept = {i for df, i in ranked if df <= common}
        kept = set([i for _df, i in ranked if i in kept][: self.max_words] or [ranked[0][1]])
        return cut_out(text, [(t.start, t.end) for i, t in enumerate(tokens) if i not in kept])

    def _doc_frequency(self, reader: Any, word: str) -> int:
        terms = [t.text for t in self.analyzer(word, mode="query")]
        return max((reader.doc_frequency("text", t) for t in terms), default=0)

    def search(self, text: str, *, snippets: bool = True, **kwargs: Any) -> KeywordPage:
        page = self.index.search(self.text(text), snippets=False, **kwargs)
        self.seen.update((h.doc_id, h.fields) for h in page.hits)
        if not snippets or not text.strip():
            return page
        terms = self.query_terms(text)
        hits = []
        for hit in page.hits:
            matched, marked = self.annotate(hit.fields, terms)
            hits.append(replace(hit, matched=matched, snippets=marked))
        return replace(page, hits=hits)

    def documents(self, ids: Collection[str], *, filters: Filters = None) -> dict[str, Any]:
        docs = self.index.documents(ids, filters=filters)
        self.seen.update(docs)
        return docs

    def query_terms(self, text: str) -> frozenset[str]:
        """The query's own words as the index stores them (no pieces, no stop words)."""
        return frozenset(t.text for t in self.analyzer(self.text(text), mode="query"))

    def annotate(
        self, fields: Mapping[str, Any], terms: Collection[str]
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        """Per text field: the matched words (as written) and a <mark>ed HTML snippet.

        What `SearchIndex.annotate` does, minus its cost on this page (measured: 30-70 ms of a
        60-110 ms search): a field none of whose terms occurs as text is not analysed, and a
        title shared by many passages of one page is analysed once.
        """
        key = frozenset(terms)
        matched: dict[str, tuple[str, ...]] = {}
        marked: dict[str, str] = {}
        for name in self.text_fieldnames:
            value = str(fields.get(name) or "")
            if (value, key) not in self._marks:
                self._marks[value, key] = self._highlight(value, key)
            found = self._marks[value, key]
            if found is not None:
                matched[name], marked[name] = found
        return matched, marked

    def _highlight(self, value: str, terms: frozenset[str]) -> tuple[tuple[str, ...], str] | None:
        if not value or not may_contain(value, terms):
            return None
        hl = highlight_text(value, terms, self.analyzer, maxchars=SNIPPET_CHARS, surround=40)
        return (hl.matched, hl.html) if hl is not None else None


def may_contain(text: str, terms: Collection[str]) -> bool:
    """False only if no term can occur in `text`: a cheap test before analysing it.

    Terms are analysed forms: case-folded, and English words Porter-stemmed, which only cuts or
    changes the word's end ("bottles" -> "bottl", "quality" -> "qualiti"), so all but the last
    letter of a stem is still found in the text as typed.
    """
    folded = normalize(text)
    return any((t[:-1] if t.isascii() and len(t) > 3 else t) in folded for t in terms)


def material_config(app: Any = None) -> HybridConfig:
    # A document here is one passage, i.e. one vector: no extra chunks to ask for.
    return hybrid_config(app, semantic_chunks_per_doc=1)


def semantic_materials(session: Session) -> SemanticMaterials | None:
    """The semantic side, or None when no model is installed (keyword search still works)."""
    try:
        store = get_store()
    except ModelNotFound:
        return None
    config = current_app.config
    min_best = _optional_float(config.get("COURSES_SEARCH_MIN_BEST_SCORE"))
    offsets = gate_offsets(config.get("COURSES_SEARCH_GATE_OFFSET"))
    return SemanticMaterials(store, allowed_courses(session), min_best, offsets)


def gate_offsets(value: Any) -> dict[str, float]:
    """Language -> gate offset, from a mapping or from the environment's "en=-0.031,ja=-0.02"."""
    if not value:
        return {}
    if isinstance(value, str):
        pairs = (item.split("=", 1) for item in value.split(",") if item.strip())
        value = {lang.strip(): number for lang, number in pairs}
    return {str(lang): float(number) for lang, number in value.items()}


def _optional_float(value: Any) -> float | None:
    """A number setting that may be unset (None, or "none"/"" from the environment)."""
    if value is None or str(value).strip().lower() in ("", "none", "null"):
        return None
    return float(value)


# -- the search --------------------------------------------------------------------------------


def material_retriever(
    session: Session, config: HybridConfig | None = None, **keyword_options: Any
) -> tuple[HybridRetriever, MaterialKeywords, SemanticMaterials | None]:
    """The retriever over both material indexes (also used by bench/search_quality.py)."""
    keywords = MaterialKeywords(synced_index(INDEX), **keyword_options)
    semantic = semantic_materials(session)
    retriever = HybridRetriever(keywords, semantic, config or material_config())
    retriever.reorder = course_reorder(current_app.config.get("COURSES_SEARCH_ROLLUP", "max"))
    return retriever, keywords, semantic


def course_reorder(method: str) -> Callable[[list[Fused], list[Fused]], list[Fused]]:
    """A page's passages course by course, courses by `method` over all the candidates
    (courses.search.ranking). The page keeps its passages: a course with many good passages
    does not push the others off the first page."""
    roll_up([1.0], method)  # an unknown method fails here, at the first search

    def reorder(shown: list[Fused], fused: list[Fused]) -> list[Fused]:
        return course_order(shown, lambda f: f.doc_id, lambda f: f.score, method, over=fused)

    return reorder


def search_materials(
    session: Session,
    query: MaterialQuery,
    *,
    include_drafts: bool = False,
    per_page: int = PER_PAGE,
) -> MaterialResults:
    """One page of passages for `query`, grouped by course, with facet counts."""
    retriever, keywords, semantic = material_retriever(session)
    config = retriever.config
    filters = query.filters(include_drafts)
    mode = query.mode if semantic is not None else "keyword"
    # Searching by words alone, passages with some of the words beat an empty page.
    match = "auto" if mode == "keyword" else None
    page = retriever.search(
        query.q, filters=filters, page=query.page, per_page=per_page, mode=mode, match=match
    )
    if mode == "keyword":  # that was one page of hits: collect the candidates too
        keywords.search(
            query.q,
            filters=filters,
            per_page=config.candidates,
            snippets=False,
            exact_total=False,
            match="auto",
        )
    results = MaterialResults(
        query=query,
        groups=group_by_course(page, config.snippet_chars),
        total=page.total,
        page=page.page,
        per_page=per_page,
        mode=page.mode,
        facets=facet_counts(keywords.seen.values()),
        semantic_available=page.semantic_available,
        index_ready=index_exists(keywords.index),
        relaxed=page.relaxed,
    )
    if not page.hits and query.q:
        results.help = no_results_help(session, keywords, query, filters, semantic)
    return results


def facet_counts(docs: Iterable[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """Passages per facet value among the candidates (filter fields are stored as lists)."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for doc in docs:
        for name, counter in counts.items():
            counter.update(doc.get(name) or [])
    return counts


def group_by_course(page: SearchPage, snippet_chars: int) -> list[CourseGroup]:
    """Hits grouped by course, courses in the order of their best hit."""
    groups: dict[str, CourseGroup] = {}
    for hit in page.hits:
        f = hit.fields
        slug = _first(f.get("course"))
        group = groups.get(slug)
        if group is None:
            group = groups[slug] = CourseGroup(
                slug=slug,
                title=_marked(hit.snippets, f, "course_title"),
                topic=_first(f.get("topic")),
                level=_first(f.get("level")),
                language=_first(f.get("language")),
                published=_first(f.get("published")) == YES,
            )
        group.hits.append(passage_hit(hit, snippet_chars))
    return list(groups.values())


def passage_hit(hit: Any, snippet_chars: int) -> PassageHit:
    f = hit.fields
    text_snippet = hit.snippets.get("text") or plain_snippet(f.get("text") or "", snippet_chars)
    return PassageHit(
        doc_id=hit.doc_id,
        rank=hit.rank,
        lesson_id=f.get("lesson_id"),
        lesson_title=_marked(hit.snippets, f, "lesson_title"),
        heading=_marked(hit.snippets, f, "heading"),
        anchor=f.get("anchor") or "",
        source=f.get("source") or "",
        page=f.get("page"),
        snippet=Markup(text_snippet),  # escaped by the highlighter
        found_by=hit.found_by,
        matched_terms=hit.matched_terms,
        matched_fields=tuple(hit.keyword.terms) if hit.keyword else (),
        semantic_score=round(hit.semantic.score, 3) if hit.semantic else None,
    )


def _marked(snippets: Mapping[str, str], fields: Mapping[str, Any], name: str) -> Markup:
    """A short field with its matches marked, or just escaped."""
    html = snippets.get(name) or escape(str(fields.get(name) or ""), quote=False)
    return Markup(html)  # escaped either way


def _first(values: Any) -> str:
    if isinstance(values, list | tuple):
        return str(values[0]) if values else ""
    return str(values or "")


# -- when nothing is found -----------------------------------------------------------------------


def no_results_help(
    session: Session,
    index: MaterialKeywords,
    query: MaterialQuery,
    filters: Mapping[str, Any],
    semantic: SemanticMaterials | None,
) -> NoResultsHelp:
    words = query_words(index.text(query.q))[:MAX_WORDS_CHECKED]
    checks = []
    corrector: ListCorrector | None = None
    for word in words:
        count = index.search(word, filters=filters, per_page=1, match="all", snippets=False).total
        suggestions: tuple[str, ...] = ()
        if count == 0:
            corrector = corrector or title_corrector(session)
            suggestions = spelling_suggestions(corrector, word)
        checks.append(WordCheck(word, count, suggestions))
    return NoResultsHelp(checks, related_courses(session, query, semantic))


def query_words(text: str) -> list[str]:
    """The words a query was split into, as typed (stop words left out)."""
    seen: dict[str, None] = {}
    for token in raw_tokens(text, overlays=False):
        if token.unit and not token.stopped:
            seen.setdefault(text[token.start : token.end], None)
    return list(seen)


def title_corrector(session: Session) -> ListCorrector:
    """Spelling suggestions drawn from the words of course and lesson titles and tags.

    Titles rather than index terms: English index terms are stemmed ("homogen"), and a
    suggestion must be a word the learner recognises.
    """
    texts = list(session.scalars(select(Course.title)))
    texts += list(session.scalars(select(Lesson.title)))
    for tags in session.scalars(select(Course.tags)):
        texts += list(tags or [])
    words = {
        normalize(text[t.start : t.end])
        for text in texts
        for t in raw_tokens(text, overlays=False)
        if t.unit and not t.stopped and t.end - t.start > 1
    }
    return ListCorrector(sorted(words))


def spelling_suggestions(corrector: ListCorrector, word: str, limit: int = 3) -> tuple[str, ...]:
    """Known words one edit away (two for longer Latin words)."""
    word = normalize(word)
    maxdist = 2 if word.isascii() and len(word) >= 6 else 1
    if len(word) < 2 or not corrector.wordlist:  # whoosh's suggest fails on an empty list
        return ()
    return tuple(s for s in corrector.suggest(word, limit=limit, maxdist=maxdist) if s != word)


def related_courses(
    session: Session, query: MaterialQuery, semantic: SemanticMaterials | None
) -> list[RelatedCourse]:
    """Courses closest in meaning to the query (any distance), else the newest ones."""
    filters = {"published": YES}
    ids = semantic.best_courses(query.q, filters, RELATED_COURSES) if semantic else []
    if ids:
        courses = {c.id: c for c in session.scalars(select(Course).where(Course.id.in_(ids)))}
        ordered = [courses[i] for i in ids if i in courses]
    else:
        ordered = list(
            session.scalars(
                select(Course)
                .where(Course.status == PUBLISHED)
                .order_by(Course.published_at.desc(), Course.id.desc())
                .limit(RELATED_COURSES)
            )
        )
    return [RelatedCourse(c.slug, c.title, c.summary or "") for c in ordered]
