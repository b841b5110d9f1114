"""Generation runs and the models they use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from app.errors import DomainError

from app.cli.base import run_cli, model_cli, _sessions, _fail


@run_cli.command("create")
def run_create(
    project: Annotated[str, typer.Option(help="Project whose problems the model answers.")],
    model: Annotated[str, typer.Option(help="Local folder, hub id (jmeadows17/MathT5-large) or served model name.")],
    backend: Annotated[str, typer.Option(help="hf-seq2seq, hf-causal or openai.")] = "hf-seq2seq",
    name: Annotated[Optional[str], typer.Option(help="The model's name in dashboards (default: from --model).")] = None,
    perturbations: Annotated[str, typer.Option(help="Which problems: any of static,VR,EE,AG,SR (default all).")] = "",
    fresh: Annotated[int, typer.Option(help="Instead: generate this many new problems (with their variants) first.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for decoding (and for --fresh problems).")] = 0,
    max_new_tokens: Annotated[int, typer.Option()] = 256,
    num_beams: Annotated[int, typer.Option()] = 1,
    sample: Annotated[bool, typer.Option("--sample/--greedy", help="Sample instead of greedy/beam search.")] = False,
    temperature: Annotated[float, typer.Option()] = 1.0,
    top_p: Annotated[float, typer.Option()] = 1.0,
    batch_size: Annotated[int, typer.Option()] = 16,
    job_size: Annotated[Optional[int], typer.Option(help="Problems per job (default: 4 batches).")] = None,
    endpoint: Annotated[Optional[str], typer.Option(
        help="openai backend: the server's base URL, e.g. http://gpu-box:8000/v1 (default: the worker's "
             "OPENAI_BASE_URL).")] = None,
    key_name: Annotated[Optional[str], typer.Option(
        help="openai backend: the environment variable that holds the key on the workers (not the key).")] = None,
    template: Annotated[str, typer.Option(
        help="What the model is shown: auto (the paper's: T5 bare, others few-shot), bare, paper-few-shot, chat.")] = "auto",
    system_prompt: Annotated[str, typer.Option(help="With --template chat: the system message.")] = "",
    stop: Annotated[Optional[list[str]], typer.Option(help="Cut the completion before this (repeatable).")] = None,
    split: Annotated[str, typer.Option(help="How an output is cut into steps: and, newline, blank-line, backslash, "
                                            "numbered.")] = "and",
) -> None:
    """Create a generation run: its jobs are queued for the workers."""
    from app.db import transaction
    from app.schemas.runs import Decoding
    from app.services.runs import create_run, parse_perturbations

    decoding = Decoding(max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=sample,
                        temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size, endpoint=endpoint,
                        key_name=key_name, template=template, system_prompt=system_prompt, stop=tuple(stop or ()),
                        split=split)
    try:
        with transaction(_sessions()) as session:
            run = create_run(session, project_name=project, model_path=model, backend=backend, decoding=decoding,
                             perturbations=parse_perturbations(perturbations), name=name, fresh=fresh, seed=seed,
                             job_size=job_size)
            run_id, total = run.id, run.total
    except DomainError as exc:
        _fail(exc.message, exc.details)
    typer.echo(f"run {run_id} created: {total} problems queued; start a worker (derivlab worker) "
               f"and follow it with: derivlab run status {run_id}")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


@run_cli.command("status")
def run_status(
    run_id: Annotated[Optional[int], typer.Argument(help="The run (default: every run, newest first).")] = None,
) -> None:
    """Progress of a run: done/total, derivations per second, ETA, jobs by state."""
    from app.db import transaction
    from app.repositories import runs as runs_repo
    from app.services.runs import progress

    try:
        with transaction(_sessions()) as session:
            ids = [run_id] if run_id is not None else [r.id for r in runs_repo.list_all(session)]
            reports = [progress(session, run_id=i) for i in ids]
    except DomainError as exc:
        _fail(exc.message, exc.details)
    if not reports:
        typer.echo("no runs yet: derivlab run create --help")
    for p in reports:
        rate = "-" if p.per_second is None else f"{p.per_second:.2f}/s"
        jobs = ", ".join(f"{n} {state}" for state, n in p.jobs.items() if n)
        typer.echo(f"run {p.run.id} [{p.state}] {p.model_name} ({p.run.backend}): {p.done}/{p.total} "
                   f"({p.percent:.0f}%), {rate}, ETA {_duration(p.eta_seconds)}; jobs: {jobs or 'none'}")


@model_cli.command("tiny")
def model_tiny(
    out: Annotated[Path, typer.Option(help="Folder to write the model and tokenizer to.")],
    train_minutes: Annotated[float, typer.Option(help="Train briefly on engine problems (0: random weights).")] = 0.0,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Build a tiny T5 (tokenizer trained on engine derivations), optionally trained a little. Downloads nothing."""
    try:
        from app.worker.tiny import build_tiny
    except ImportError:
        _fail("this needs torch, transformers and tokenizers: make worker-deps")
    report = build_tiny(out, train_seconds=60 * train_minutes, seed=seed, say=lambda m: typer.echo(m, err=True))
    loss = "" if report.final_loss is None else f", final loss {report.final_loss:.3f}"
    typer.echo(f"tiny T5 written to {report.path}: {report.parameters:,} parameters, vocabulary {report.vocab}, "
               f"{report.train_steps} training steps{loss} ({report.seconds:.0f} s)")
    typer.echo(f"use it: derivlab run create --project NAME --model {report.path} --backend hf-seq2seq")
