"""The audit log's hash chain: rows are sealed at commit, and `verify` finds an edited, deleted or
inserted row (MLPS 2.0 level 3, 安全审计: audit records protected from tampering)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from expertpool.core import audit, audit_chain
from expertpool.core.audit import AuditLog
from expertpool.db import db


def _log(n: int, note: str = "test") -> None:
    for i in range(n):
        audit.record(db.session, "Thing", "update", {"n": [i, i + 1]}, note=note)
    db.session.commit()


def _tamper(sql: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)
    db.session.expire_all()


def _verify(app) -> audit_chain.Report:
    return audit_chain.verify(db.session, audit_chain.Keys.from_config(app.config))


def test_every_committed_row_is_sealed_onto_one_chain(app):
    _log(5)
    _log(3)
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.seal_seq)).all()
    assert [r.seal_seq for r in rows] == list(range(1, 9))
    assert rows[0].prev_hash == audit_chain.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    report = _verify(app)
    assert report.ok and report.checked == 8 and report.unsealed == 0


def test_an_edited_row_is_found(app, runner):
    _log(6)
    target = db.session.scalar(select(AuditLog.id).where(AuditLog.seal_seq == 4))
    _tamper("UPDATE audit_log SET actor_name = 'someone else' WHERE id = :id", id=target)
    report = _verify(app)
    assert not report.ok and report.problem_row_id == target
    assert report.problem.startswith("edited") and report.checked == 3
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"row #{target}" in result.output


def test_a_deleted_row_is_found(app, runner):
    _log(6)
    _tamper("DELETE FROM audit_log WHERE seal_seq = 3")
    report = _verify(app)
    assert not report.ok and report.problem.startswith("deleted") and report.checked == 2
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_a_row_appended_with_a_wrong_prev_is_found(app):
    _log(3)
    seq, _ = audit_chain.head(db.session)
    forged = {"id": 999, "at": None, "actor_id": None, "actor_name": "intruder"}
    forged.update(entity_type="User", entity_id=1, subject_type=None, subject_id=None)
    forged.update(action="delete", changes={}, note=None)

    class Row:  # the forger computes a valid hash, but over a prev of its own choosing
        pass

    row = Row()
    row.__dict__.update(forged)
    wrong_prev = "f" * 64
    _tamper(
        "INSERT INTO audit_log (id, at, actor_name, entity_type, entity_id, action, changes,"
        " seal_seq, prev_hash, row_hash) VALUES (999, '2026-01-01 00:00:00', 'intruder', 'User',"
        " 1, 'delete', '{}', :seq, :prev, :hash)",
        seq=seq + 1,
        prev=wrong_prev,
        hash=audit_chain.digest(row, seq + 1, wrong_prev, None),
    )
    report = _verify(app)
    assert not report.ok and report.problem_row_id == 999
    assert report.problem.startswith("inserted")


def test_rows_cut_off_the_end_are_found_through_the_last_verification(app, runner):
    _log(5)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    _tamper("DELETE FROM audit_log WHERE seal_seq >= 4")
    report = _verify(app)
    assert not report.ok and "chain ends at position 3" in report.problem


def test_an_hmac_seal_cannot_be_recomputed_without_the_key(app):
    app.config["AUDIT_HMAC_KEY"] = "k" * 40
    _log(4)
    assert _verify(app).ok
    # Someone with database access edits row 2 and reseals the chain from there, unkeyed.
    _tamper("UPDATE audit_log SET note = 'harmless' WHERE seal_seq = 2")
    _tamper(
        "UPDATE audit_log SET seal_seq = NULL, prev_hash = NULL, row_hash = NULL, "
        "key_id = NULL WHERE seal_seq >= 2"
    )
    audit_chain.seal(db.session, audit_chain.Keys())
    db.session.commit()
    report = _verify(app)
    assert not report.ok and report.problem.startswith("forged")
    # Without the key configured, its rows cannot be checked at all (not silently passed).
    app.config["AUDIT_HMAC_KEY"] = None
    assert not _verify(app).ok


def test_core_bulk_inserts_are_sealed_at_commit(app):
    rows = [
        {"actor_name": "import", "entity_type": "Thing", "action": "create", "changes": {"i": i}}
        for i in range(50)
    ]
    db.session.execute(insert(AuditLog), rows)
    db.session.commit()
    assert audit_chain.unsealed_count(db.session) == 0
    assert _verify(app).checked == 50


def test_rows_written_outside_the_session_wait_for_the_seal_command(app, runner):
    _log(2)
    _tamper(
        "INSERT INTO audit_log (at, actor_name, entity_type, action, changes) "
        "VALUES ('2026-01-01 00:00:00', 'sql', 'Thing', 'create', '{}')"
    )
    report = _verify(app)
    assert report.ok and report.unsealed == 1
    result = runner.invoke(args=["audit", "seal"])
    assert result.exit_code == 0 and "Sealed 1" in result.output
    assert _verify(app).checked == 3


def test_verification_job_keeps_its_result(app):
    from expertpool.core.audit_chain import last_verification
    from expertpool.core.jobs import queue

    _log(3)
    queue.enqueue(db.session, "audit.verify", {}, title="verify")
    db.session.commit()  # JOBS_EAGER: the job runs after this commit
    last = last_verification(db.session)
    assert last is not None and last.ok and last.checked == 3


@pytest.mark.parametrize("writers", [4])
def test_concurrent_writers_do_not_fork_the_chain(app, writers):
    """Threads commit audit rows at once on one SQLite file: one chain, no gap, no fork."""
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                barrier.wait(timeout=30)
                for i in range(10):
                    audit.record(session, "Thing", "update", {"w": [n, i]})
                    session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    total = db.session.scalar(select(func.count()).select_from(AuditLog))
    assert total == writers * 10
    report = _verify(app)
    assert report.ok and report.checked == total


def test_a_large_commit_seals_a_bounded_batch_and_a_job_seals_the_rest(app):
    """A big import's commit holds the write lock for AUDIT_SEAL_MAX_ON_COMMIT seals at most."""
    from expertpool.core.jobs import drain
    from expertpool.core.jobs.models import Job

    app.config.update(JOBS_EAGER=False, AUDIT_SEAL_MAX_ON_COMMIT=10)
    _log(35)
    assert audit_chain.unsealed_count(db.session) == 25
    jobs = db.session.scalars(select(Job).where(Job.task == "audit.seal")).all()
    assert len(jobs) == 1
    assert _verify(app).ok  # the sealed part is a valid chain already
    assert drain(app) == 1
    report = _verify(app)
    assert report.ok and report.checked == 35 and report.unsealed == 0
