"""derivlab run / worker / jobs / model: the command-line path of a generation run."""

from tests.helpers import PAPER_FILES


def test_tiny_model_run_and_worker_from_the_command_line(run, tmp_path):
    assert run("import", str(PAPER_FILES["gpt-3.5-turbo"]), "--project", "p").exit_code == 0
    built = run("model", "tiny", "--out", str(tmp_path / "tiny"))
    assert built.exit_code == 0, built.output
    assert "tiny T5 written to" in built.output and (tmp_path / "tiny" / "config.json").exists()

    created = run("run", "create", "--project", "p", "--model", str(tmp_path / "tiny"), "--perturbations", "static",
                  "--max-new-tokens", "8", "--batch-size", "4")
    assert created.exit_code == 0, created.output
    assert "run 1 created: 10 problems queued" in created.output
    status = run("run", "status", "1")
    assert "run 1 [queued] tiny (hf-seq2seq): 0/10 (0%)" in status.output

    worked = run("worker", "--kinds", "generate", "--device", "cpu", "--exit-when-idle")
    assert worked.exit_code == 0, worked.output
    assert "1 jobs done, 0 failed" in worked.output
    status = run("run", "status")
    assert "run 1 [done] tiny (hf-seq2seq): 10/10 (100%)" in status.output
    listing = run("jobs", "list")
    assert "1 done" in listing.output and "queued" in listing.output  # the check jobs wait for a check worker


def test_run_create_refuses_bad_requests_with_clear_messages(run):
    run("import", str(PAPER_FILES["gpt-4"]), "--project", "p")
    cases = [
        (["--project", "nope", "--model", "m"], "project 'nope' does not exist"),
        (["--project", "p", "--model", "m", "--backend", "magic"], "unknown backend 'magic'"),
        (["--project", "p", "--model", "m", "--perturbations", "static,XX"], "unknown perturbation XX"),
        (["--project", "p", "--model", "m", "--batch-size", "0"], "batch_size must be 1..4096 (got 0)"),
        (["--project", "p", "--model", "m", "--sample", "--temperature", "0"], "temperature must be in (0, 10]"),
    ]
    for args, message in cases:
        result = run("run", "create", *args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    assert "no runs yet" in run("run", "status").output


def test_worker_refuses_cuda_without_a_gpu_and_unknown_kinds(run):
    result = run("worker", "--device", "cuda", "--exit-when-idle")
    assert result.exit_code == 1 and "--device cuda was asked for, but torch sees no CUDA GPU" in result.output
    result = run("worker", "--kinds", "train", "--exit-when-idle")
    assert result.exit_code == 1 and "unknown job kind train" in result.output


def test_failed_jobs_are_retried_from_the_command_line(run):
    run("import", str(PAPER_FILES["gpt-4"]), "--project", "p")
    run("run", "create", "--project", "p", "--model", "/no/such/model", "--perturbations", "AG")
    assert "0 failed" not in run("worker", "--kinds", "generate", "--exit-when-idle").output
    listing = run("jobs", "list", "--run", "1")
    assert "failed" in listing.output and "model folder '/no/such/model' does not exist" in listing.output
    assert "1 failed jobs queued again" in run("jobs", "retry", "--run", "1").output
    assert "1 queued" in run("jobs", "list", "--run", "1").output
