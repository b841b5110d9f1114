"""The job queue against real PostgreSQL, across real connections: claims never
overlap, a lapsed lease puts a job back, errors are kept, failed jobs retry."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from app import jobs
from app.db import transaction
from app.models import Job, JobState
from app.repositories import jobs as jobs_repo


def _enqueue(sessions, n: int, kind: str = jobs.CHECK, max_attempts: int = 3) -> list[int]:
    with transaction(sessions) as session:
        jobs_repo.add_many(session, [{"kind": kind, "payload": {"n": i}, "max_attempts": max_attempts}
                                     for i in range(n)])
        session.flush()
        return list(session.scalars(select(Job.id).order_by(Job.id)))


def _job(sessions, job_id: int) -> Job:
    with transaction(sessions) as session:
        return session.get(Job, job_id)


def test_a_claimed_job_is_not_claimed_again_while_its_lease_holds(committed):
    [job_id] = _enqueue(committed, 1)
    first = jobs.claim(committed, worker="A", kinds=[jobs.CHECK], lease_seconds=30)
    try:
        assert first.job.id == job_id and first.job.attempts == 1
        assert jobs.claim(committed, worker="B", kinds=[jobs.CHECK], lease_seconds=30) is None
        row = _job(committed, job_id)
        assert row.state == JobState.running and row.worker_id == "A"
    finally:
        first.release()


def test_workers_claiming_at_once_never_take_the_same_job(committed):
    ids = _enqueue(committed, 60)
    taken: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def work(name: str):
        mine = taken.setdefault(name, [])
        barrier.wait()
        while True:
            with transaction(committed) as session:
                row = jobs_repo.claim(session, worker=name, kinds=[jobs.CHECK], lease_seconds=30)
            if row is None:
                return
            mine.append(row.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [j for got in taken.values() for j in got]
    assert sorted(claimed) == ids  # every job once, none twice
    assert sum(1 for got in taken.values() if got) >= 2  # the work was really shared


def test_a_lapsed_lease_puts_the_job_back_and_the_first_worker_cannot_finish_it(committed):
    [job_id] = _enqueue(committed, 1)
    with transaction(committed) as session:  # claimed by a worker that then goes silent (no heartbeat)
        assert jobs_repo.claim(session, worker="dead", kinds=[jobs.CHECK], lease_seconds=0.3) is not None
    assert jobs.claim(committed, worker="B", kinds=[jobs.CHECK], lease_seconds=30) is None
    time.sleep(0.5)
    second = jobs.claim(committed, worker="B", kinds=[jobs.CHECK], lease_seconds=30)
    try:
        assert second is not None and second.job.id == job_id and second.job.attempts == 2
        # the silent worker wakes up and tries to write its results: refused, nothing kept
        stale = jobs.Lease(committed, jobs.ClaimedJob(job_id, jobs.CHECK, {}, 1, 3, None), "dead", 30)
        stale.release()
        with pytest.raises(jobs.LeaseLost):
            with stale.finish() as session:
                session.execute(text("CREATE TABLE written_by_stale (x int)"))
        with transaction(committed) as session:
            assert session.scalar(text("SELECT to_regclass('written_by_stale')")) is None
        with second.finish():
            pass
    finally:
        second.release()
    assert _job(committed, job_id).state == JobState.done


def test_the_heartbeat_keeps_a_long_job_its_own(committed):
    [job_id] = _enqueue(committed, 1)
    lease = jobs.claim(committed, worker="A", kinds=[jobs.CHECK], lease_seconds=0.6)
    try:
        time.sleep(1.5)  # well past the first lease: the heartbeat renewed it
        assert jobs.claim(committed, worker="B", kinds=[jobs.CHECK], lease_seconds=30) is None
        assert not lease.lost.is_set()
    finally:
        lease.release()
    assert _job(committed, job_id).worker_id == "A"


def test_errors_are_kept_retried_then_failed_and_an_admin_can_retry(committed):
    [job_id] = _enqueue(committed, 1, max_attempts=2)
    for attempt, expected in ((1, "queued"), (2, "failed")):
        lease = jobs.claim(committed, worker="A", kinds=[jobs.CHECK], lease_seconds=30)
        lease.release()
        assert lease.job.attempts == attempt
        assert jobs.give_up(committed, lease, f"ValueError: boom {attempt}") == expected
    row = _job(committed, job_id)
    assert row.state == JobState.failed and row.error == "ValueError: boom 2" and row.finished_at is not None
    assert jobs.claim(committed, worker="A", kinds=[jobs.CHECK], lease_seconds=30) is None
    with transaction(committed) as session:
        assert jobs.retry(session) == 1
    row = _job(committed, job_id)
    assert row.state == JobState.queued and row.attempts == 0 and row.error == "ValueError: boom 2"


def test_a_job_whose_workers_keep_dying_fails_with_a_message(committed):
    [job_id] = _enqueue(committed, 1, max_attempts=1)
    with transaction(committed) as session:
        jobs_repo.claim(session, worker="host:123:abc", kinds=[jobs.CHECK], lease_seconds=0.2)
    time.sleep(0.4)
    assert jobs.claim(committed, worker="B", kinds=[jobs.CHECK], lease_seconds=30) is None
    row = _job(committed, job_id)
    assert row.state == JobState.failed
    assert "host:123:abc stopped answering (lease lapsed) on attempt 1 of 1" in row.error


def test_workers_only_take_the_kinds_they_serve(committed):
    _enqueue(committed, 1, kind=jobs.GENERATE)
    assert jobs.claim(committed, worker="A", kinds=[jobs.CHECK], lease_seconds=30) is None
    lease = jobs.claim(committed, worker="A", kinds=[jobs.GENERATE, jobs.CHECK], lease_seconds=30)
    assert lease is not None and lease.job.kind == jobs.GENERATE
    lease.release()


def test_an_imports_metrics_are_scored_by_a_worker_and_equal_the_authors(committed):
    """The import writes no text metrics itself (they were ~80% of its time): it queues
    metrics jobs, claimed before the SymPy checks, and a worker stores ROUGE-2/BLEU/GLEU
    equal to the authors' own static scores."""
    import json

    from app.models import Derivation, Problem
    from app.services.importing import import_file
    from app.worker.backends import BackendCache
    from app.worker.handlers import Context
    from app.worker.loop import Worker
    from tests.helpers import PAPER_FILES

    path = PAPER_FILES["gpt-4"]
    with transaction(committed) as session:
        import_file(session, project_name="p", filename=path.name, data=path.read_bytes())
        assert not any("rouge2" in m for m in session.scalars(select(Derivation.metrics)))
        queued = session.execute(select(Job.kind, Job.priority).order_by(Job.priority.desc(), Job.id)).all()
    assert queued[0] == ("metrics", jobs.QUICK) and {k for k, _ in queued[1:]} == {"check"}
    stats = Worker(Context(committed, BackendCache("cpu")), kinds=["metrics"]).run(exit_when_idle=True)
    assert stats.done == 1 and stats.failed == 0
    records = {r["prompt"]: r for r in json.loads(path.read_text())}
    with transaction(committed) as session:
        rows = session.execute(select(Problem.prompt, Derivation.metrics).join(Problem)
                               .where(Problem.perturbation == "static")).all()
    assert len(rows) == 10
    for prompt, metrics in rows:
        for ours, theirs in (("rouge2", "static_rouge"), ("bleu", "static_bleu"), ("gleu", "static_gleu")):
            assert metrics[ours] == pytest.approx(records[prompt][theirs], abs=1e-6)
            assert metrics[theirs] == records[prompt][theirs]  # the authors' own stay beside ours
