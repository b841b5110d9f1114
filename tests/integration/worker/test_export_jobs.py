"""Large exports prepared by a worker: the stored file equals the direct export, the page
polls until it is ready, and an export too big to wait for is sent there."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.db import transaction
from app.models import Derivation, ExportChunk, ExportFile, Project, Role
from app.repositories import export_files
from app.services import annotating, export_jobs, exporting
from app.services.importing import import_file
from app.worker.backends import BackendCache
from app.worker.handlers import Context
from app.worker.loop import Worker
from tests.helpers import PAPER_FILES, htmx, login
from tests.factories import assign, make_user, steps_of


def _annotated(session) -> int:
    path = PAPER_FILES["gpt-4"]
    import_file(session, project_name="big", filename=path.name, data=path.read_bytes())
    ann = make_user(session, username="ann")
    for d in session.scalars(select(Derivation).order_by(Derivation.id)).all()[:20]:
        assign(session, ann, d)
        annotating.set_step_label(session, derivation_id=d.id, step_id=steps_of(session, d)[0].id, label="incorrect",
                                  on=True, user=ann)
        annotating.submit(session, derivation_id=d.id, user=ann, goal_reached=True, comment="ünïcode ✓")
    return session.scalar(select(Project.id).where(Project.name == "big"))


def test_a_worker_writes_the_export_and_it_equals_the_direct_one(committed, monkeypatch):
    monkeypatch.setattr(export_jobs, "CHUNK", 1001)  # several chunks, and characters cut between them
    with transaction(committed) as session:
        project_id = _annotated(session)
        boss = make_user(session, role=Role.admin, username="boss")
        export_id = export_jobs.request(session, project_id=project_id, level="derivation", user=boss).id
    stats = Worker(Context(committed, BackendCache("cpu")), kinds=["export"]).run(exit_when_idle=True)
    assert stats.done == 1 and stats.failed == 0
    direct = "".join(exporting.stream_csv(committed, project_id=project_id,
                                          labels=["incorrect", "irrelevant", "redundant", "skipped"], level="derivation"))
    stored = b"".join(export_jobs.stream(committed, export_id=export_id)).decode("utf-8")
    assert stored == direct and stored.count("ünïcode ✓") == 20  # chunks may cut a character: joined, it is whole
    with transaction(committed) as session:
        export = session.get(ExportFile, export_id)
        assert export.state == "ready" and export.size == len(direct.encode())
        assert len(session.scalars(select(ExportChunk.n).where(ExportChunk.export_id == export_id)).all()) > 3


def test_the_export_page_polls_then_offers_the_download(client, db):
    project_id = _annotated(db)
    make_user(db, role=Role.reviewer, username="rita")
    token = login(client, "rita")
    response = client.post(f"/projects/{project_id}/exports", data={"level": "derivation", "csrf_token": token})
    assert response.status_code == 303
    url = response.headers["location"]
    export_id = int(url.rsplit("/", 1)[1])
    page = client.get(url, headers=htmx(token))
    assert 'hx-trigger="every 2s"' in page.text and "pending" in page.text
    assert client.get(f"{url}/download").status_code == 409
    # the worker's part (tested above against a real worker): store the file, mark it ready
    export_files.add_chunk(db, export_id, 0, "a,b\n1,2\n".encode())
    export_files.finish(db, export_id, size=8)
    db.flush()
    ready = client.get(url, headers=htmx(token))
    assert "hx-trigger" not in ready.text and f'href="/exports/{export_id}/download"' in ready.text
    download = client.get(f"{url}/download")
    assert download.status_code == 200 and download.text == "a,b\n1,2\n"
    assert "attachment" in download.headers["content-disposition"]


def test_an_export_too_big_to_wait_for_goes_to_the_background(client, db, monkeypatch):
    project_id = _annotated(db)
    make_user(db, role=Role.admin, username="boss")
    login(client, "boss")
    monkeypatch.setattr(export_jobs, "BACKGROUND_ROWS", 10)
    response = client.get(f"/projects/{project_id}/export.csv?level=step")
    assert response.status_code == 303 and re.fullmatch(r"/exports/\d+", response.headers["location"])
    assert db.scalar(select(ExportFile.level)) == "step"


def test_bad_levels_and_annotators_are_refused(client, db):
    project_id = _annotated(db)
    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    bad = client.post(f"/projects/{project_id}/exports", data={"level": "words"}, headers=htmx(token))
    assert bad.status_code == 422 and db.scalars(select(ExportFile)).all() == []
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "ann")
    assert client.post(f"/projects/{project_id}/exports", data={"level": "step"}, headers=htmx(token)).status_code == 403


def test_an_export_queued_behind_a_thousand_checks_is_done_next(committed):
    """Bulk checks (an import's, a run's) must not hold up what someone waits for on a page:
    two workers, as `make run` starts on this machine, busy with 1,000 queued check jobs of
    real derivations; an export requested after them is claimed as soon as a worker
    finishes the job in hand."""
    import threading
    import time

    from app import jobs
    from app.models import Job, JobState

    with transaction(committed) as session:
        project_id = _annotated(session)
        ids = session.scalars(select(Derivation.id).order_by(Derivation.id)).all()
        jobs.enqueue_checks(session, ids * (1000 * jobs.CHECK_CHUNK // len(ids)))  # 1,000 jobs of real checks
        boss = make_user(session, role=Role.admin, username="boss")

    def count(session, kind, state):
        return session.scalar(select(func.count()).where(Job.kind == kind, Job.state == state))

    workers = [Worker(Context(committed, BackendCache("cpu"), sandbox_processes=1), kinds=["check", "export"],
                      poll_seconds=0.1) for _ in range(2)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    try:
        for _ in range(600):  # both workers busy with checks (bounds against a hang, not timing assertions)
            with transaction(committed) as session:
                if count(session, "check", JobState.running) == 2:
                    break
            time.sleep(0.05)
        with transaction(committed) as session:
            assert count(session, "check", JobState.queued) >= 1000
            export_id = export_jobs.request(session, project_id=project_id, level="derivation", user=boss).id
        started = time.perf_counter()
        for _ in range(1200):
            with transaction(committed) as session:
                state = session.get(ExportFile, export_id).state
                checks_done = count(session, "check", JobState.done)
            if state == "ready":
                break
            time.sleep(0.1)
    finally:
        for w in workers:
            w.stop.set()
        for t in threads:
            t.join()
    print(f"export ready after {time.perf_counter() - started:.1f} s, {checks_done} check jobs done before it")
    assert state == "ready"
    # each worker finished at most the job in hand, and the other at most one more meanwhile
    assert checks_done <= 3, checks_done


def test_old_prepared_exports_are_deleted_when_a_new_one_is_asked_for(db):
    from sqlalchemy import text

    project_id = _annotated(db)
    boss = make_user(db, role=Role.admin, username="boss")
    old = ExportFile(project_id=project_id, level="step", state="ready", size=4, options={})
    recent = ExportFile(project_id=project_id, level="step", state="ready", size=4, options={})
    running = ExportFile(project_id=project_id, level="step", state="pending", size=0, options={})
    db.add_all([old, recent, running])
    db.flush()
    db.add(ExportChunk(export_id=old.id, n=0, data=b"a,b\n"))
    db.flush()
    db.execute(text("UPDATE export_files SET created_at = now() - interval '100 hours' WHERE id IN (:a, :c)"),
               {"a": old.id, "c": running.id})
    new = export_jobs.request(db, project_id=project_id, level="step", user=boss, spreadsheet_safe=True, keep_hours=72)
    db.expire_all()
    left = set(db.scalars(select(ExportFile.id)))
    assert left == {recent.id, running.id, new.id}  # the old finished one went, with its chunks
    assert db.scalar(select(func.count()).select_from(ExportChunk).where(ExportChunk.export_id == old.id)) == 0
    assert db.get(ExportFile, new.id).options == {"spreadsheet_safe": True}


def test_a_recheck_is_claimed_before_bulk_checks_queued_earlier(committed):
    from app import jobs
    from app.models import Job, JobState
    from app.repositories import checks as checks_repo
    from app.services import checking

    with transaction(committed) as session:
        _annotated(session)
        ids = session.scalars(select(Derivation.id).order_by(Derivation.id)).all()
        jobs.enqueue_checks(session, ids)  # an import's bulk checks, queued first
        bulk = session.scalar(select(func.count()).where(Job.kind == "check"))
        recheck_id = checking.recheck(session, derivation_id=ids[-1])
    worker = Worker(Context(committed, BackendCache("cpu"), sandbox_processes=1), kinds=["check"])
    assert worker.run_one()
    with transaction(committed) as session:
        assert session.get(Job, recheck_id).state == JobState.done
        assert session.scalar(select(func.count()).where(Job.kind == "check", Job.state == JobState.queued)) == bulk
        assert checks_repo.for_derivation(session, ids[-1])  # its suggestions are stored
