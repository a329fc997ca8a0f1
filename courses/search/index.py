"""The course-material search indexes and how they follow the catalogue.

Two indexes named "materials", both one entry per passage (`content/passages.py`): a keyword index
(Whoosh, via `expertpool.core.search.app`) and a vector index (the embeddings store, one
vector per passage: source ("course", course id), chunk = the passage id).

Keeping them current: authoring operations call `material_changed(session, course)` (deleted
courses and lessons are noticed by the flush). Just before the commit, a `courses.index_materials`
job joins the transaction; the job writes the courses' vectors and logs the course ids in the
keyword indexes' change log (`core.search.changes`), in its own transaction. Every app host's
Whoosh folder follows that log, re-reading each logged course's passages from the database
(`changed_material_documents`; the key is the `course_id` field, so passages gone from a course
leave the index); a host without an index builds it whole. Whoosh is derived data: `flask search
reindex` rebuilds it from the database. Bulk loaders (`flask demo load`) set
`session.info[SKIP_SYNC]` and rebuild both afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core.embeddings import ModelNotFound, TextRecord, register_text_provider
from expertpool.core.embeddings.store import TextItem, VectorStore, get_store
from expertpool.core.features import listen
from expertpool.core.jobs import JobContext, enqueue, ids_title, register_task
from expertpool.core.search import IndexSpec
from expertpool.core.search.app import SKIP_SYNC, register_keyword_index
from expertpool.core.search.changes import record_changes
from expertpool.db import db

from ..content.passages import Passage, course_passages
from ..models import Course, Lesson

log = logging.getLogger(__name__)

INDEX = "materials"
INDEX_TASK = "courses.index_materials"
SOURCE_TYPE = "course"  # vector rows: ("course", course id, passage id)
YES, NO = "yes", "no"

# BM25F boosts, applied at index time (a change needs `flask search reindex`). A passage's
# heading and its lesson title say what the whole passage is about, so a word there weighs
# more than one in passing; chosen with bench/search_quality.py.
TEXT_BOOSTS = {"text": 1.0, "heading": 2.0, "lesson_title": 2.0, "course_title": 1.0}
SPEC = IndexSpec(
    name=INDEX,
    # "text" first: the retriever takes the first field with a match as the snippet.
    text_fields=TEXT_BOOSTS,
    filter_fields=("course", "course_id", "topic", "audience", "level", "language", "published"),
    stored_fields=("lesson_id", "anchor", "source", "page"),
)

_PENDING = "materials_pending"  # session.info: ids of courses changed in this transaction


# -- documents -------------------------------------------------------------------------------


def passages_with_titles(course: Course) -> Iterator[tuple[Passage, str]]:
    """Every passage of `course` with the title of its lesson ("" for the course passage)."""
    titles = {lesson.id: lesson.title for lesson in course.lessons}
    for passage in course_passages(course):
        yield passage, titles.get(passage.lesson_id, "") if passage.lesson_id else ""


def passage_document(course: Course, passage: Passage, lesson_title: str) -> dict[str, Any]:
    """The keyword-index document of one passage (text, titles, facets, link data)."""
    heading = passage.heading if passage.heading not in (lesson_title, course.title) else ""
    return {
        "id": passage.id,
        "text": passage.text,
        "heading": heading,
        "lesson_title": lesson_title,
        "course_title": course.title,
        "course": course.slug,
        "course_id": str(course.id),
        "topic": course.topic,
        "audience": list(course.audience or []),
        "level": course.level,
        "language": course.language,
        "published": YES if course.is_published else NO,
        "lesson_id": passage.lesson_id,
        "anchor": passage.anchor,
        "source": passage.source,
        "page": passage.page,
    }


def embed_text(course: Course, passage: Passage, lesson_title: str) -> str:
    """What the model reads for a passage: its lesson and heading give a short passage context.

    bench/search_quality.py compared this with the bare passage text (see the report there).
    """
    context = " · ".join(dict.fromkeys(t for t in (lesson_title, passage.heading) if t))
    return f"{context}\n{passage.text}" if context and passage.source != "course" else passage.text


def course_documents(course: Course) -> list[dict[str, Any]]:
    return [passage_document(course, p, t) for p, t in passages_with_titles(course)]


def course_text_items(course: Course) -> list[TextItem]:
    return [
        TextItem(SOURCE_TYPE, course.id, p.id, embed_text(course, p, t))
        for p, t in passages_with_titles(course)
    ]


def all_courses(session: Session) -> Iterable[Course]:
    return session.scalars(select(Course).order_by(Course.id))


def material_documents(session: Session) -> Iterator[dict[str, Any]]:
    """Every passage of every course (drafts too: the search filters on `published`)."""
    for course in all_courses(session):
        yield from course_documents(course)


def changed_material_documents(
    session: Session, keys: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The passages of the logged courses now (a deleted course has none)."""
    ids = sorted({int(k) for k in keys})
    courses = session.scalars(select(Course).where(Course.id.in_(ids)))
    return {str(c.id): course_documents(c) for c in courses}


def material_count(session: Session) -> int:
    return sum(len(course_passages(c)) for c in all_courses(session))


def material_texts() -> Iterator[TextRecord]:
    """Texts for `flask embeddings rebuild`."""
    for course in all_courses(db.session):
        for item in course_text_items(course):
            yield TextRecord(INDEX, *item)


def init_app(app: Flask) -> None:
    """Register the materials index and texts; keep them current as courses change."""
    register_task(app, INDEX_TASK, index_materials, label=_l("Update the course search index"))
    register_keyword_index(
        app,
        SPEC,
        material_documents,
        material_count,
        changed=changed_material_documents,
        key_field="course_id",
    )
    register_text_provider(app, "course_materials", material_texts, indexes=(INDEX,))
    listen("before_flush", _note_deleted)
    listen("before_commit", _stage)
    listen("after_transaction_end", _discard)


# -- keeping the indexes current -------------------------------------------------------------


def material_changed(session: Session, course: Course) -> None:
    """Re-index `course` when this transaction commits (nothing happens if it rolls back)."""
    if course.id is None:
        session.flush()
    session.info.setdefault(_PENDING, set()).add(course.id)


def _note_deleted(session: Session, _context: Any, _instances: Any) -> None:
    """Courses or lessons deleted by any means leave the index too."""
    for obj in session.deleted:
        if isinstance(obj, Course) and obj.id is not None:
            session.info.setdefault(_PENDING, set()).add(obj.id)
        elif isinstance(obj, Lesson) and obj.course_id is not None:
            session.info.setdefault(_PENDING, set()).add(obj.course_id)


def _has_changes(session: Session) -> bool:
    return bool(session.info.get(_PENDING)) or any(
        isinstance(obj, Course | Lesson) for obj in session.deleted
    )


def _stage(session: Session) -> None:
    """Before the commit: a job re-indexes the changed courses once the change is committed."""
    # Savepoints fire the commit events too; only the real commit counts.
    if session.in_nested_transaction() or not _has_changes(session):
        return
    if session.info.get(SKIP_SYNC):
        session.info.pop(_PENDING, None)
        return
    if not has_app_context():
        log.warning("course materials changed outside an app: run `flask search reindex`")
        session.info.pop(_PENDING, None)
        return
    session.flush()  # deletions are noted by the flush
    pending = session.info.pop(_PENDING, set())
    if pending:
        enqueue(
            session,
            INDEX_TASK,
            {"course_ids": sorted(pending)},
            title=ids_title(sorted(pending)),
        )


def index_materials(ctx: JobContext, course_ids: list[int]) -> dict[str, Any]:
    """The job: these courses' vectors, and their ids logged for every host's keyword index, in
    the job's transaction. Idempotent: it writes what the database holds when it runs."""
    session = ctx.session
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = _writer_store(session, app)
    courses = {course_id: session.get(Course, course_id) for course_id in sorted(course_ids)}
    present = [course_id for course_id, course in courses.items() if course is not None]
    gone = [course_id for course_id, course in courses.items() if course is None]
    passages = sum(len(course_passages(c)) for c in courses.values() if c is not None)
    if store is not None:
        _write_vectors(store, courses, ctx)
    record_changes(session, INDEX, upserted=present, deleted=gone)
    return {"courses": len(course_ids), "passages": passages}


def _discard(session: Session, transaction: Any) -> None:
    """A rollback (or a close without commit) forgets what was waiting for the commit."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# -- vectors -----------------------------------------------------------------------------------


def _writer_store(session: Session, app: Flask) -> VectorStore | None:
    """The app's store, bound to `session` if that is not the app's own session."""
    try:
        store = get_store(app)
    except ModelNotFound as exc:
        log.warning(
            "course material vectors not written (%s); run `flask embeddings "
            "rebuild` once the model is installed",
            exc,
        )
        return None
    if session is db.session():
        return store
    return VectorStore(store.encoder, session, fairness=store.fairness)


def _write_vectors(store: VectorStore, courses: dict[int, Course | None], ctx: JobContext) -> None:
    """Every changed course's passages in one batch: all of them are encoded before the first
    row is written, so on SQLite the job holds the write lock only while storing the vectors."""
    items = [item for course in courses.values() if course for item in course_text_items(course)]
    store.upsert(
        INDEX,
        items,
        replace_sources=True,
        progress=lambda done, total: ctx.progress(done, total, stage="embed"),
    )
    for course_id, course in courses.items():
        if course is None:
            store.delete(INDEX, SOURCE_TYPE, course_id)
