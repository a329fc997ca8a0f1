"""Course-material search: hybrid retrieval over passages, grouped by course, with facets.

The keyword and vector indexes are those of `material_index`; retrieval and fusion are the
search core's `HybridRetriever`. This module adds what the search page needs around it:
filters from the request, facet counts over the fused candidates, hits grouped by course, and
help when nothing is found (the words tried, spelling suggestions, related courses).
"""

from __future__ import annotations

import math
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
from expertpool.core.embeddings.store import VectorStore, get_store
from expertpool.core.search import (
    HybridConfig,
    HybridRetriever,
    KeywordPage,
    SearchIndex,
    SearchPage,
    SemanticHit,
    normalize,
    plain_snippet,
)
from expertpool.core.search.analysis import raw_tokens
from expertpool.core.search.app import get_index, hybrid_config, index_exists

from .constants import AUDIENCES, LANGUAGES, LEVELS, PUBLISHED, TOPICS
from .material_index import INDEX, SOURCE_TYPE, YES
from .models import Course, Lesson

PER_PAGE = 20
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

        try:
            page = max(1, int(args.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
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
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def hit_count(self) -> int:
        return sum(len(g.hits) for g in self.groups)


# -- retrieval pieces --------------------------------------------------------------------------


class SemanticMaterials:
    """`SemanticSearch` over the vector store, pre-filtered to the courses the filters allow.

    `allowed(filters)` gives the ids of those courses (None: all); the query vector is kept,
    so asking twice for one query (results, then related courses) encodes it once.
    """

    def __init__(
        self, store: VectorStore, allowed: Callable[[Filters], Collection[int] | None]
    ) -> None:
        self.store = store
        self.allowed = allowed
        self._vectors: dict[str, np.ndarray] = {}

    def vector(self, query: str) -> np.ndarray:
        if query not in self._vectors:
            self._vectors[query] = self.store.encoder.encode_query(query)
        return self._vectors[query]

    def __call__(self, query: str, k: int, filters: Filters) -> list[SemanticHit]:
        rows = self.store.search(
            INDEX, self.vector(query), k, source_type=SOURCE_TYPE, allowed_ids=self.allowed(filters)
        )
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
                Course.id, Course.topic, Course.audience, Course.level, Course.language,
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


class RecordingIndex:
    """The keyword index as the retriever sees it, remembering every candidate's fields.

    The fused result set is the union of the keyword candidates and the semantic hits the
    index confirmed, so these fields are exactly what facet counts need, without a second
    search.
    """

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.analyzer = index.analyzer
        self.text_fieldnames = index.text_fieldnames
        self.seen: dict[str, dict[str, Any]] = {}

    def search(self, text: str, **kwargs: Any) -> KeywordPage:
        page = self.index.search(text, **kwargs)
        self.seen.update((h.doc_id, h.fields) for h in page.hits)
        return page

    def documents(self, ids: Collection[str], *, filters: Filters = None) -> dict[str, Any]:
        docs = self.index.documents(ids, filters=filters)
        self.seen.update(docs)
        return docs

    def query_terms(self, text: str) -> frozenset[str]:
        return self.index.query_terms(text)

    def annotate(self, fields: Mapping[str, Any], terms: Collection[str]) -> Any:
        return self.index.annotate(fields, terms)


def material_config(app: Any = None) -> HybridConfig:
    # A document here is one passage, i.e. one vector: no extra chunks to ask for.
    return hybrid_config(app, semantic_chunks_per_doc=1)


def semantic_materials(session: Session) -> SemanticMaterials | None:
    """The semantic side, or None when no model is installed (keyword search still works)."""
    try:
        store = get_store()
    except ModelNotFound:
        return None
    return SemanticMaterials(store, allowed_courses(session))


# -- the search --------------------------------------------------------------------------------


def search_materials(
    session: Session,
    query: MaterialQuery,
    *,
    include_drafts: bool = False,
    per_page: int = PER_PAGE,
) -> MaterialResults:
    """One page of passages for `query`, grouped by course, with facet counts."""
    index = get_index(INDEX)
    config = material_config()
    semantic = semantic_materials(session)
    recorder = RecordingIndex(index)
    retriever = HybridRetriever(recorder, semantic, config)
    filters = query.filters(include_drafts)
    mode = query.mode if semantic is not None else "keyword"
    page = retriever.search(
        query.q, filters=filters, page=query.page, per_page=per_page, mode=mode
    )
    if mode == "keyword":  # the page holds one page of hits: collect the candidates too
        recorder.search(
            query.q, filters=filters, per_page=config.candidates, snippets=False,
            exact_total=False,
        )
    results = MaterialResults(
        query=query,
        groups=group_by_course(page, config.snippet_chars),
        total=page.total,
        page=page.page,
        per_page=per_page,
        mode=page.mode,
        facets=facet_counts(recorder.seen.values()),
        semantic_available=page.semantic_available,
        index_ready=index_exists(index),
        relaxed=page.relaxed,
    )
    if not page.hits and query.q:
        results.help = no_results_help(session, index, query, filters, semantic)
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
    index: SearchIndex,
    query: MaterialQuery,
    filters: Mapping[str, Any],
    semantic: SemanticMaterials | None,
) -> NoResultsHelp:
    words = query_words(query.q)[:MAX_WORDS_CHECKED]
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
    if len(word) < 2:
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
