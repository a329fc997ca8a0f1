"""A submission's query vector: embedded once per text and model for every process, when the
submission is saved, and never served for a text it was not computed from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from expertpool import create_app
from expertpool.core.embeddings import queries
from expertpool.core.embeddings.queries import QueryVector, query_key, query_vector
from expertpool.core.embeddings.store import get_store
from expertpool.core.jobs.models import Job
from expertpool.db import db
from expertpool.matching.service import rank
from expertpool.matching.submission_vectors import EMBED_TASK
from expertpool.reviews.eligibility import rules_from_config
from expertpool.submissions import operations as subs
from expertpool.submissions.models import Submission
from expertpool.submissions.text import matching_text
from tests.conftest import SUBMISSION


@pytest.fixture(autouse=True)
def _fresh_process() -> Iterator[None]:
    queries.forget_local()
    yield
    queries.forget_local()


@pytest.fixture
def encodes(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the app's encoder embeds as queries, in order (every app of the test process
    shares the encoder of one model folder, as the threads of one worker do)."""
    encoder = get_store(app).encoder
    seen: list[str] = []
    original = encoder.encode_query

    def counting(texts: Any, progress: Any = None) -> np.ndarray:
        seen.extend([texts] if isinstance(texts, str) else list(texts))
        return original(texts, progress)

    monkeypatch.setattr(encoder, "encode_query", counting)
    return seen


def _stored(text: str) -> np.ndarray | None:
    row = db.session.scalar(
        select(QueryVector).where(
            QueryVector.model_id == get_store().model_id, QueryVector.text_hash == query_key(text)
        )
    )
    return None if row is None else np.frombuffer(row.vector, dtype=np.float32)


def _ranked_query(monkeypatch: pytest.MonkeyPatch, app: Any, submission_id: int) -> np.ndarray:
    """The query vector the ranking of this submission scored the pool with."""
    store = get_store(app)
    used: list[np.ndarray] = []
    original = store.score_all

    def spy(index: str, vec: np.ndarray) -> Any:
        used.append(np.array(vec))
        return original(index, vec)

    monkeypatch.setattr(store, "score_all", spy)
    submission = db.session.get(Submission, submission_id)
    rank(db.session, submission, rules_from_config(app.config))
    monkeypatch.setattr(store, "score_all", original)
    return used[-1]


def test_saving_a_submission_embeds_its_text_in_a_job(app, make_submission, encodes):
    submission = make_submission()
    text = matching_text(submission)
    jobs = db.session.scalars(select(Job).where(Job.task == EMBED_TASK)).all()
    assert [j.args["submission_ids"] for j in jobs] == [[submission.id]]
    assert jobs[0].status == "done"  # run eagerly by the test app, as a worker would
    stored = _stored(text)
    assert stored is not None
    assert np.allclose(stored, get_store().encoder.encode_query(text), atol=1e-6)
    assert encodes.count(text) == 2  # the job, and the line above: the ranking adds none


def test_the_ranking_reads_the_stored_vector_instead_of_embedding(
    app, make_submission, pool, encodes, monkeypatch
):
    submission = make_submission()
    queries.forget_local()  # another worker: only the database knows the vector
    encodes.clear()
    used = _ranked_query(monkeypatch, app, submission.id)
    assert encodes == []
    assert np.allclose(used, _stored(matching_text(submission)))


def test_an_edit_of_the_text_is_ranked_with_the_new_text(
    app, admin, make_submission, pool, encodes, monkeypatch
):
    submission = make_submission()
    before = matching_text(submission)
    _ranked_query(monkeypatch, app, submission.id)  # the old text's vector, in this process too
    submission.matrix = "食品"
    submission.analytes = ["三聚氰胺"]
    submission.description = "乳制品中三聚氰胺的测定"
    db.session.commit()
    after = matching_text(submission)
    assert after != before
    new_jobs = db.session.scalars(select(Job).where(Job.task == EMBED_TASK)).all()
    assert len(new_jobs) == 2  # creation, and the edit
    used = _ranked_query(monkeypatch, app, submission.id)
    fresh = get_store().encoder.encode_query(after)
    assert np.allclose(used, fresh, atol=1e-6)
    assert not np.allclose(used, get_store().encoder.encode_query(before), atol=1e-3)


def test_an_attachment_changes_the_text_and_gets_its_vector(app, admin, make_submission, encodes):
    submission = make_submission()
    subs.add_attachment(
        db.session,
        admin,
        submission,
        "dossier.txt",
        "均匀性检验与稳定性研究报告".encode(),
        app.config["UPLOAD_FOLDER"],
    )
    db.session.commit()
    db.session.expire_all()
    text = matching_text(db.session.get(Submission, submission.id))
    assert "均匀性检验" in text
    assert _stored(text) is not None


def test_edits_that_leave_the_text_alone_queue_nothing(app, admin, make_submission):
    submission = make_submission()
    subs.set_status(db.session, submission, "matching")
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(Job).where(Job.task == EMBED_TASK))
    assert count == 1  # the creation's


def test_a_stored_vector_is_never_one_of_another_text_or_model(app, make_submission):
    encoder = get_store().encoder
    a = query_vector(db.session, encoder, "土壤中铅的测定")
    b = query_vector(db.session, encoder, "土壤中镉的测定")
    db.session.commit()
    assert not np.allclose(a, b)
    keys = set(db.session.scalars(select(QueryVector.text_hash)))
    assert {query_key("土壤中铅的测定"), query_key("土壤中镉的测定")} <= keys
    # another model's row for the same text is not read (and rebuild's prune drops it)
    db.session.add(
        QueryVector(
            model_id="other-model", text_hash=query_key("土壤中铅的测定"), vector=b.tobytes()
        )
    )
    db.session.commit()
    queries.forget_local()
    assert np.allclose(query_vector(db.session, encoder, "土壤中铅的测定"), a)
    assert queries.prune(db.session, encoder.model_id) == 1


def test_two_app_instances_on_one_database_share_the_vector_and_follow_edits(
    app, admin, make_submission, pool, encodes, monkeypatch
):
    """A vector stored through one app (process, host) is read by the other without the model;
    after an edit through the first, the other ranks with the new text's vector."""
    submission = make_submission()
    other = create_app(
        {k: app.config[k] for k in ("TESTING", "DATABASE_URL", "SECRET_KEY", "EMBEDDING_MODEL")},
        instance_path=app.instance_path,
    )

    def ranked_on_the_other_host():
        queries.forget_local()
        encodes.clear()
        with other.app_context():
            used = _ranked_query(monkeypatch, other, submission.id)
            db.session.remove()
        return used

    used = ranked_on_the_other_host()
    assert encodes == []
    assert np.allclose(used, _stored(matching_text(submission)))

    submission.description = "乳制品中三聚氰胺的测定（修订）"
    db.session.commit()  # through the first app: its job stores the new text's vector
    new_text = matching_text(submission)
    used = ranked_on_the_other_host()
    assert encodes == []
    assert np.allclose(used, _stored(new_text))


def test_rebuild_embeds_the_open_submissions_a_bulk_load_skipped(app, admin, runner):
    from expertpool.core.search.app import SKIP_SYNC

    db.session.info[SKIP_SYNC] = True
    submission = subs.create_submission(
        db.session,
        admin,
        {**SUBMISSION, "title": "水中硝酸盐成分分析标准物质"},
    )
    db.session.commit()
    db.session.info.pop(SKIP_SYNC, None)
    text = matching_text(submission)
    assert _stored(text) is None
    result = runner.invoke(args=["embeddings", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "query vectors: 1 encoded" in result.output
    db.session.expire_all()
    assert _stored(text) is not None
