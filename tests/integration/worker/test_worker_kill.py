"""kill -9 a worker mid-generation and mid-check: another worker finishes the job once
its lease lapses; every problem gets exactly one derivation, every step one verdict per label."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from app.config import ROOT
from app.db import transaction
from app.models import Derivation, Job, JobState
from app.schemas.runs import Decoding
from app.services import runs
from app.services.importing import import_file
from tests.helpers import PAPER_FILES

# Long enough that a live worker on a loaded machine (CI: 2 cores, the whole suite beside it)
# always renews its lease in time, so the only lapse is the killed worker's; short enough to wait out.
LEASE = 8.0
STARTUP = 240  # a worker's start (torch, the model) on a loaded machine


def _worker(url: str, tmp_path, name: str, kinds: str = "generate") -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "app.worker", "--kinds", kinds, "--device", "cpu",
         "--lease-seconds", str(LEASE), "--poll-seconds", "0.2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(900)
def test_a_job_of_a_killed_worker_completes_on_another_without_duplicates(committed, fresh_database_url, tiny_model,
                                                                         tmp_path):
    path = PAPER_FILES["gpt-4"]
    with transaction(committed) as session:
        import_file(session, project_name="study", filename=path.name, data=path.read_bytes())
        # one job of 50 problems, one at a time: long enough to be killed in the middle of
        run_id = runs.create_run(session, project_name="study", model_path=str(tiny_model), backend="hf-seq2seq",
                                 perturbations=[], job_size=50,
                                 decoding=Decoding(max_new_tokens=96, batch_size=1)).id

    def job():
        with transaction(committed) as session:
            return session.scalars(select(Job).where(Job.run_id == run_id)).one()

    def derivations() -> int:
        with transaction(committed) as session:
            return session.scalar(select(func.count()).where(Derivation.run_id == run_id))

    first = _worker(fresh_database_url, tmp_path, "first")
    try:
        running = _wait(lambda: (j := job()).state == JobState.running and j, STARTUP,
                        "the first worker to claim the job")
        assert f":{first.pid}:" in running.worker_id
        time.sleep(1.0)  # in the middle of generating
        assert first.poll() is None, "the first worker ended before it could be killed"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert derivations() == 0  # nothing half-written
    assert job().state == JobState.running  # still leased to the dead worker

    second = _worker(fresh_database_url, tmp_path, "second")
    try:
        done = _wait(lambda: (j := job()).state == JobState.done and j, STARTUP + 180,
                     "the second worker to finish the job")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert f":{second.pid}:" in done.worker_id and done.attempts == 2
    with transaction(committed) as session:
        per_problem = session.execute(select(Derivation.problem_id, func.count()).where(Derivation.run_id == run_id)
                                      .group_by(Derivation.problem_id)).all()
    assert len(per_problem) == 50 and {n for _, n in per_problem} == {1}
    assert "1 jobs done" in (tmp_path / "second.log").read_text()


@pytest.mark.timeout(900)
def test_a_check_job_of_a_killed_worker_completes_on_another_without_duplicates(committed, fresh_database_url,
                                                                               tmp_path):
    from app.models import AutoCheck, Step

    path = PAPER_FILES["gpt-3.5-turbo"]
    with transaction(committed) as session:  # the import queues the SymPy checks of its 50 derivations
        import_file(session, project_name="study", filename=path.name, data=path.read_bytes())

    def jobs():
        with transaction(committed) as session:
            return session.scalars(select(Job).where(Job.kind == "check").order_by(Job.id)).all()

    first = _worker(fresh_database_url, tmp_path, "first", kinds="check")
    try:
        _wait(lambda: next((j for j in jobs() if j.state == JobState.running), None), STARTUP,
              "the first worker to claim a check job")
        time.sleep(0.5)  # in the middle of checking
        assert first.poll() is None
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    # the job it held when it died (on a fast machine no longer the first one it claimed)
    victim = _wait(lambda: next((j for j in jobs() if j.state == JobState.running), None), 5,
                   "a job still leased to the killed worker")
    second = _worker(fresh_database_url, tmp_path, "second", kinds="check")
    try:
        _wait(lambda: all(j.state == JobState.done for j in jobs()), STARTUP + 240, "every check job to finish")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    finished = {j.id: j for j in jobs()}
    assert finished[victim.id].attempts == 2 and f":{second.pid}:" in finished[victim.id].worker_id
    with transaction(committed) as session:
        per_key = session.execute(select(AutoCheck.derivation_id, AutoCheck.step_index, AutoCheck.label, func.count())
                                  .group_by(AutoCheck.derivation_id, AutoCheck.step_index, AutoCheck.label)).all()
        goals = session.scalar(select(func.count()).where(AutoCheck.label == "goal_reached"))
        derivations = session.scalar(select(func.count()).select_from(Derivation))
        steps = session.scalar(select(func.count()).select_from(Step))
    assert {n for *_, n in per_key} == {1}  # a re-run replaced, never added
    assert goals == derivations == 50
    assert len(per_key) > steps  # every step has its verdicts
