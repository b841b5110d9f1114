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
from tests.helpers import PAPER_FILES
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


class _EchoOpenAI(_FakeOpenAI):
    """Answers every request with chain of thought: two paragraphs, then an answer line."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        answer = {"choices": [{"message": {"role": "assistant", "content": "First, $a = b$.\n\nThen $b = c$.\n#### c"}}]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_run_carries_its_endpoint_template_and_stops_and_chain_of_thought_keeps_blank_lines(committed, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _EchoOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _EchoOpenAI.seen = []
    monkeypatch.setenv("RUN_KEY", "sk-run")
    try:
        _import_sample(committed)
        with transaction(committed) as session:
            decoding = Decoding(batch_size=2, endpoint=f"http://127.0.0.1:{server.server_port}/v1", key_name="RUN_KEY",
                                template="chat", system_prompt="Reason step by step.", stop=("####",), split="newline")
            run_id = runs.create_run(session, project_name="study", model_path="served", backend="openai",
                                     perturbations=["static"], decoding=decoding).id
        # the worker's own environment names no server: the run's endpoint and key are what count
        worker = Worker(Context(committed, BackendCache("cpu", None, None)), kinds=["generate"])
        assert worker.run(exit_when_idle=True).failed == 0
    finally:
        server.shutdown()
    request = _EchoOpenAI.seen[0]
    assert request["messages"][0] == {"role": "system", "content": "Reason step by step."}
    assert request["messages"][1]["role"] == "user" and "Prompt:" not in request["messages"][1]["content"]
    assert request["stop"] == ["####"]
    with transaction(committed) as session:
        texts = session.scalars(select(Derivation.raw_text).where(Derivation.run_id == run_id)).all()
        assert texts and set(texts) == {"First, $a = b$.\n\nThen $b = c$."}  # blank line kept, cut at the stop
        d = session.scalars(select(Derivation.id).where(Derivation.run_id == run_id)).first()
        steps = session.scalars(select(Step.latex).where(Step.derivation_id == d).order_by(Step.index)).all()
        assert steps == ["First, $a = b$.", "Then $b = c$."]


def test_run_settings_that_do_not_fit_are_refused(committed):
    from app.errors import InvalidInput

    _import_sample(committed)
    with transaction(committed) as session:
        for decoding, message in [
            (Decoding(endpoint="http://x:1/v1"), "an endpoint and key name are for the openai backend"),
            (Decoding(template="chat"), "the chat template needs a chat model"),
            (Decoding(template="jinja"), "template must be one of"),
            (Decoding(key_name="sk-123 secret"), "not the key itself"),
            (Decoding(system_prompt="hi"), "a system prompt needs the chat template"),
        ]:
            with pytest.raises(InvalidInput) as caught:
                runs.create_run(session, project_name="study", model_path="m", backend="hf-seq2seq",
                                perturbations=["static"], decoding=decoding)
            assert any(message in line for line in caught.value.details), caught.value.details


def _tiny_chat_model(folder) -> str:
    """A one-layer GPT-2 with a word-level tokenizer and a chat template (nothing downloaded)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(["Given x = 1 , then obtain y = 2 and \\frac { d } { d x } f ( x ) system user assistant"],
                              trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}"
                               "{% if add_generation_prompt %}assistant : {% endif %}")
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=4096, n_embd=16, n_layer=1, n_head=2,
                                       eos_token_id=2, bos_token_id=2, pad_token_id=1))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture
def transformers_serve(tmp_path):
    """`transformers serve` (a real OpenAI-compatible server) of a tiny local model, on loopback."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    pytest.importorskip("openai", reason="transformers[serving] is not installed")
    from tests.helpers import free_port

    model = _tiny_chat_model(tmp_path / "tiny-chat")
    port = free_port()
    command = shutil.which("transformers", path=str(__import__("pathlib").Path(sys.executable).parent))
    if command is None:
        pytest.skip("the `transformers` command is not installed beside this Python")
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen([command, "serve", model, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # bounded: start-up takes seconds, a loaded machine more
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("transformers serve exited: " + (tmp_path / "serve.log").read_text()[-2000:])
                time.sleep(0.5)
        else:
            pytest.fail("transformers serve did not start in 120 s")
        yield f"{base}/v1", model
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.timeout(600)
def test_a_run_through_a_real_openai_compatible_server_with_a_bare_prompt(committed, transformers_serve):
    endpoint, model = transformers_serve
    _import_sample(committed)
    with transaction(committed) as session:
        decoding = Decoding(max_new_tokens=8, batch_size=2, endpoint=endpoint, template="bare", split="newline")
        run_id = runs.create_run(session, project_name="study", model_path=model, backend="openai",
                                 perturbations=["static"], decoding=decoding, job_size=5).id
    worker = Worker(Context(committed, BackendCache("cpu", None, None)), kinds=["generate"])
    assert worker.run(exit_when_idle=True).failed == 0
    with transaction(committed) as session:
        assert runs.progress(session, run_id=run_id).state == "done"
        made = session.scalar(select(func.count()).select_from(Derivation).where(Derivation.run_id == run_id))
        assert made == 10  # one per static problem of the sample
