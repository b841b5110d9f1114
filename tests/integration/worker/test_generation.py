"""A generation run end to end with the tiny T5: the real loading and generation
code, the real queue, the real checker; the derivations reach the annotation queue."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from app.db import transaction
from app.math.latex import split_steps
from app.models import AutoCheck, Derivation, Job, JobState, LLMModel, ParseStatus, Problem, Role, Step
from app.schemas.runs import Decoding
from app.services import annotating, runs
from app.services.importing import import_file
from app.worker.backends import BackendCache
from app.worker.handlers import Context
from app.worker.loop import Worker
from tests.conftest import PAPER_FILES
from tests.factories import make_user


def _import_sample(sessions, project: str = "study") -> None:
    path = PAPER_FILES["flan-t5-large"]
    with transaction(sessions) as session:
        import_file(session, project_name=project, filename=path.name, data=path.read_bytes())


def _worker(sessions, **kw) -> Worker:
    return Worker(Context(sessions, BackendCache("cpu", kw.pop("base_url", None), None)), poll_seconds=0.1, **kw)


def test_a_run_with_the_tiny_model_puts_checked_derivations_in_the_annotation_queue(committed, tiny_model):
    _import_sample(committed)
    with transaction(committed) as session:
        run = runs.create_run(session, project_name="study", model_path=str(tiny_model), backend="hf-seq2seq",
                              name="tiny-t5", perturbations=["static", "SR"],
                              decoding=Decoding(max_new_tokens=40, batch_size=8, seed=1))
        run_id = run.id
        assert runs.progress(session, run_id=run_id).state == "queued"

    stats = _worker(committed).run(exit_when_idle=True)
    assert stats.failed == 0 and stats.lost == 0

    with transaction(committed) as session:
        report = runs.progress(session, run_id=run_id)
        assert (report.done, report.total, report.state) == (20, 20, "done")  # 10 problems x static, SR
        assert report.per_second and report.per_second > 0
        made = session.scalars(select(Derivation).where(Derivation.run_id == run_id)).all()
        assert len(made) == 20
        problems = {d.problem_id for d in made}
        perturbations = set(session.scalars(select(Problem.perturbation).where(Problem.id.in_(problems))))
        assert {p.value for p in perturbations} == {"static", "SR"}
        assert {session.get(LLMModel, d.model_id).name for d in made} == {"tiny-t5"}
        for d in made:
            assert d.source == "generated"
            assert set(d.metrics) >= {"rouge2", "bleu", "gleu"}
            steps = session.scalars(select(Step).where(Step.derivation_id == d.id).order_by(Step.index)).all()
            assert [s.latex for s in steps] == split_steps(d.raw_text) and steps
            assert all(s.parse_status != ParseStatus.pending for s in steps)  # the check job ran
            labels = set(session.scalars(select(AutoCheck.label).where(AutoCheck.derivation_id == d.id)))
            assert "goal_reached" in labels and "incorrect" in labels
        assert session.scalar(select(func.count()).select_from(Job).where(Job.state != JobState.done)) == 0

        # the annotation queue hands them out like imported ones, model name hidden
        annotator = make_user(session, role=Role.annotator)
        seen = set()
        while (next_id := annotating.next_derivation(session, project_id=made[0].project_id, user=annotator)):
            seen.add(next_id)
            annotating.submit(session, derivation_id=next_id, user=annotator, goal_reached=None, comment="")
        assert {d.id for d in made} <= seen
        view = annotating.open_derivation(session, derivation_id=made[0].id, user=annotator)
        assert not view.show_model
        session.rollback()


def test_the_same_generation_job_run_twice_writes_nothing_twice(committed, tiny_model):
    _import_sample(committed)
    with transaction(committed) as session:
        run_id = runs.create_run(session, project_name="study", model_path=str(tiny_model), backend="hf-seq2seq",
                                 perturbations=["static"], decoding=Decoding(max_new_tokens=16, batch_size=4)).id
    _worker(committed, kinds=["generate"]).run(exit_when_idle=True)
    with transaction(committed) as session:
        job = session.scalars(select(Job).where(Job.run_id == run_id)).one()
        job.state = JobState.queued  # as if it were handed out again
    _worker(committed, kinds=["generate"]).run(exit_when_idle=True)
    with transaction(committed) as session:
        per_problem = session.execute(select(Derivation.problem_id, func.count()).where(Derivation.run_id == run_id)
                                      .group_by(Derivation.problem_id)).all()
        assert len(per_problem) == 10 and {n for _, n in per_problem} == {1}


class _FakeOpenAI(BaseHTTPRequestHandler):
    """An OpenAI-compatible server on loopback: answers with the prompt's premise, twice."""
    seen: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        target = body["messages"][0]["content"].rsplit("Prompt: Given ", 1)[1]
        premise = target.split(", then ", 1)[0]
        answer = {"choices": [{"message": {"role": "assistant", "content": f" {premise} and {premise}\n\nPrompt: x"}}]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_openai():
    server = HTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeOpenAI.seen = []
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_the_openai_backend_sends_few_shot_prompts_and_stores_the_answers(committed, fake_openai):
    _import_sample(committed)
    with transaction(committed) as session:
        run_id = runs.create_run(session, project_name="study", model_path="served-model", backend="openai",
                                 perturbations=["static"], decoding=Decoding(max_new_tokens=64, batch_size=4)).id
    worker = Worker(Context(committed, BackendCache("cpu", fake_openai, "sk-test")), kinds=["generate"])
    assert worker.run(exit_when_idle=True).failed == 0
    assert len(_FakeOpenAI.seen) == 10
    request = _FakeOpenAI.seen[0]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "served-model"
    assert request["auth"] == "Bearer sk-test" and request["max_tokens"] == 64
    assert request["messages"][0]["content"].count("\nPrompt: ") == 4  # three examples and the target
    with transaction(committed) as session:
        for d in session.scalars(select(Derivation).where(Derivation.run_id == run_id)):
            problem = session.get(Problem, d.problem_id)
            assert d.raw_text == f"{problem.premises[0]} and {problem.premises[0]}"  # cut before "Prompt:"


def test_a_missing_model_folder_fails_the_job_with_a_clear_error(committed):
    _import_sample(committed)
    with transaction(committed) as session:
        run_id = runs.create_run(session, project_name="study", model_path="/nowhere/model", backend="hf-seq2seq",
                                 perturbations=["static"], decoding=Decoding()).id
    stats = _worker(committed, kinds=["generate"]).run(exit_when_idle=True)
    assert stats.failed == 3  # three attempts, then failed
    with transaction(committed) as session:
        job = session.scalars(select(Job).where(Job.run_id == run_id)).one()
        assert job.state == JobState.failed
        assert "model folder '/nowhere/model' does not exist on this worker" in job.error
        assert runs.progress(session, run_id=run_id).state == "failed"
