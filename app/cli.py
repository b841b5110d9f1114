"""derivlab: run, set up, import and export from the command line."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Optional

import psycopg
import typer
from sqlalchemy.exc import DBAPIError

from app.config import get_settings
from app.errors import DomainError, NotFound, from_database

cli = typer.Typer(help="Derivation Lab: find out how language models get derivations wrong.",
                  no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
user_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
math_cli = typer.Typer(help="The math core: parsing and checking equations.", no_args_is_help=True)
problems_cli = typer.Typer(help="Derivation problems from the symbolic engine.", no_args_is_help=True)
run_cli = typer.Typer(help="Generation runs: a model writes derivations for a project's problems.", no_args_is_help=True)
jobs_cli = typer.Typer(help="The background job queue.", no_args_is_help=True)
model_cli = typer.Typer(help="Models for the worker.", no_args_is_help=True)
cli.add_typer(problems_cli, name="problems")
cli.add_typer(run_cli, name="run")
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(model_cli, name="model")
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(math_cli, name="math")


def _sessions():
    """Migrated database and its sessionmaker; a DATABASE_URL that cannot be used stops here
    with what to check, not a traceback."""
    from app.db import DatabaseUnusable, open_sessions

    try:
        return open_sessions(get_settings())
    except DatabaseUnusable as exc:
        _fail(str(exc))


def _fail(message: str, details: list[str] | None = None) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    for line in details or []:
        typer.echo(f"  - {line}", err=True)
    raise typer.Exit(code=1)


def _seed_demo(sessions) -> None:
    from app.db import transaction
    from app.services import demo

    with transaction(sessions) as session:
        passwords = demo.seed(session, shared_data_dir=get_settings().shared_data_dir, say=typer.echo)
    if passwords:
        typer.secho("\nDemo accounts (the passwords are shown only this once):", bold=True)
        for name, password in passwords.items():
            typer.echo(f"  {name:10s} {password}")
        typer.echo("")


@cli.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Seed the demo project when the database is empty.")] = True,
    with_worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Start background workers beside the server.")] = True,
    check_workers: Annotated[Optional[int], typer.Option(min=1, help="Check workers to start (default CHECK_WORKERS, "
                                                                     "else one per CPU core).")] = None,
    workers: Annotated[int, typer.Option("--web-processes", min=1, help="Web server processes (one per CPU core "
                                                                        "spreads the load; each counts failed logins on its own).")] = 1,
) -> None:
    """Apply migrations, seed the demo into an empty database, and serve the web app (and a worker)."""

    import uvicorn

    from app.db import transaction
    from app.main import create_app
    from app.services.demo import is_empty

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if probe.connect_ex((host, port)) == 0:
            _fail(f"port {port} on {host} is in use; stop what runs there or pass --port")
    sessions = _sessions()
    with transaction(sessions) as session:
        empty = is_empty(session)
    if demo and empty:
        _seed_demo(sessions)
    supervisor = _start_workers(sessions.kw["bind"].url.render_as_string(hide_password=False),
                                check_workers or settings.check_workers or os.cpu_count() or 1) if with_worker else None
    typer.secho(f"Derivation Lab on http://{host}:{port}", fg="green")
    try:
        if workers == 1:
            uvicorn.run(create_app(settings, sessions), host=host, port=port, log_level="info",
                        **settings.uvicorn_options())
        else:  # each process builds its app from the environment: point them all at this database
            os.environ["DATABASE_URL"] = sessions.kw["bind"].url.render_as_string(hide_password=False)
            os.environ.setdefault("SECRET_KEY", settings.session_secret())  # one cookie key for all of them
            from uvicorn.supervisors import Multiprocess

            config = uvicorn.Config("app.main:create_app", factory=True, workers=workers, host=host, port=port,
                                    log_level="info", **settings.uvicorn_options())
            # Our own listening socket, made with proto=IPPROTO_TCP: asyncio sets TCP_NODELAY
            # only on such sockets, and uvicorn's own (proto 0) costs every multi-packet
            # response a 40 ms delayed-ACK stall.
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.set_inheritable(True)
            Multiprocess(config, sockets=[listener]).run()
    finally:
        if supervisor:
            supervisor.stop()  # each worker finishes its job in hand, then stops


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations."""
    _sessions()
    typer.echo("database is up to date")


def _read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


@user_cli.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, annotator or reviewer")] = "annotator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user; the password is asked for (or read from stdin)."""
    from app.db import transaction
    from app.services.auth import create_user

    password = _read_password(password_stdin, "Password")
    try:
        with transaction(_sessions()) as session:
            user = create_user(session, username=name, password=password, role=role)
            typer.echo(f"created {user.role.value} '{user.username}'")
    except DomainError as exc:
        _fail(exc.message, exc.details)


@user_cli.command("passwd")
def user_passwd(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a user's password; their sessions end (they log in again everywhere) and their API tokens are revoked."""
    from app.db import transaction
    from app.services.auth import ended, set_password

    password = _read_password(password_stdin, "New password")
    try:
        with transaction(_sessions()) as session:
            user, revoked = set_password(session, username=name, password=password)
            typer.echo(f"password of '{user.username}' changed; {ended(revoked)}")
    except DomainError as exc:
        _fail(exc.message, exc.details)


@cli.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    project: Annotated[str, typer.Option(help="Project name; created when new.")],
    format: Annotated[Optional[str], typer.Option(
        help="paper-json, jsonl, csv, processbench, prm800k or lm-eval (default: from the file's name and "
             "first record).")] = None,
    model: Annotated[Optional[str], typer.Option(
        help="The model's name, for lm-evaluation-harness samples (their records do not say).")] = None,
    split: Annotated[str, typer.Option(
        help="How a derivation's text is cut into steps: and (' and ', the paper's), newline, blank-line, "
             "backslash (\\\\), numbered ('Step 1:'). Records with a 'steps' list keep theirs.")] = "and",
    results: Annotated[Optional[Path], typer.Option(
        help="lm-evaluation-harness: the run's results_*.json, which names the model and its settings.")] = None,
    labels: Annotated[Optional[str], typer.Option(
        help="ProcessBench/PRM800K: the source's labels onto the project's where they differ, e.g. "
             "'neutral=irrelevant' (default: the label of the same name, else the one of the same rating).")] = None,
) -> None:
    """Import derivations (the paper's *_results.json, JSONL or CSV). All or nothing."""
    from app.db import transaction
    from app.services.file_formats import read_records
    from app.services.importing import check_size, file_hash, import_records
    from app.services.labelled_formats import lm_eval_results
    from app.services.source_labels import parse_map

    try:
        check_size(file.name, file.stat().st_size, get_settings().import_max_mb)
    except DomainError as exc:
        _fail(exc.message)
    data = file.read_bytes()
    sessions = _sessions()
    try:
        label_map = parse_map(labels) or None
        run = (results.name, results.read_bytes()) if results else None
        fmt, records = read_records(file.name, data, format, split, model, lm_eval_results(*run) if run else None)
        with typer.progressbar(length=len(records), label=f"importing {file.name}", file=sys.stderr) as bar:
            with transaction(sessions) as session:
                result = import_records(session, project_name=project, filename=file.name,
                                        sha256=file_hash(data, split, model, label_map, run[1] if run else None),
                                        fmt=fmt,
                                        records=records, progress=bar.update, label_map=label_map)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    except DBAPIError as exc:  # rolled back: nothing of the file was written
        _fail(from_database(exc).message)
    if result.already_imported:
        typer.echo(f"{file.name} was already imported into '{result.project}': 0 derivations added")
    else:
        typer.echo(f"{result.added} derivations added to '{result.project}' "
                   f"({result.records} read, {result.problems_added} new problems); their text metrics and SymPy "
                   "checks are queued for the workers (make run starts them; or: derivlab worker --exit-when-idle)")


@cli.command()
def training(
    project: Annotated[str, typer.Option(help="Project name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write into (made if missing).")],
    kind: Annotated[str, typer.Option(help="step-rewards, stepwise, preference-pairs, corrections, or all")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet")] = "jsonl",
    model: Annotated[Optional[str], typer.Option(help="Only this model's derivations.")] = None,
    perturbation: Annotated[Optional[str], typer.Option(help="Only this perturbation (static, VR, EE, AG, SR).")] = None,
    final_only: Annotated[bool, typer.Option("--final-only", help="Only derivations a reviewer settled.")] = False,
    ratings: Annotated[Optional[str], typer.Option(
        help="Step ratings over the defaults, e.g. 'skipped=-1,redundant=0' (incorrect -1; irrelevant, "
             "redundant, skipped 0; no error +1).")] = None,
) -> None:
    """Training exports (step rewards, preference pairs, corrections) with a dataset card (README.md)."""
    from app.db import transaction
    from app.repositories import projects as projects_repo
    from app.services import training as training_service

    kinds = training_service.KINDS if kind == "all" else (kind,)
    if fmt not in training_service.FORMATS:
        _fail(f"format '{fmt}': use jsonl or parquet")
    try:
        with transaction(_sessions()) as session:
            found = projects_repo.get_by_name(session, project.strip())
            if found is None:
                raise NotFound(f"project '{project}' does not exist")
            mapping = training_service.parse_ratings(ratings)
            built = [training_service.build(session, project_id=found.id, kind=k, model=model,
                                            perturbation=perturbation, final_only=final_only, ratings=mapping)
                     for k in kinds]
    except DomainError as exc:
        _fail(exc.message, exc.details)
    for line in training_service.write_folder(built, project.strip(), output, fmt):
        typer.echo(line, err=True)


@cli.command()
def export(
    project: Annotated[str, typer.Option(help="Project name.")],
    level: Annotated[str, typer.Option(help="step, derivation, events (the label history) or jsonl (everything)")] = "step",
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write ('-' for stdout).")] = Path("-"),
    spreadsheet_safe: Annotated[bool, typer.Option(
        "--spreadsheet-safe", help="Prefix text a spreadsheet would run as a formula (= + - @) with '. "
                                   "Off by default: exports hold the stored text exactly.")] = False,
) -> None:
    """Export a project's labels as CSV, streamed from the database (lossless)."""
    from app.db import transaction
    from app.services import exporting

    from app.repositories.dashboards import Filters

    sessions = _sessions()
    try:
        with transaction(sessions) as session:
            project_id, labels, _ = exporting.check_export(session, project_name=project,
                                                           level="step" if level == "jsonl" else level)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    chunks = (exporting.stream_jsonl(sessions, filters=Filters(project_id)) if level == "jsonl"
              else exporting.stream_csv(sessions, project_id=project_id, labels=labels, level=level,
                                        safe=spreadsheet_safe))
    # A file is written beside its name and renamed when complete: a failed export leaves
    # no half-written file behind.
    partial = output.with_name(output.name + ".partial")
    out = sys.stdout if str(output) == "-" else partial.open("w", encoding="utf-8", newline="")
    try:
        for chunk in chunks:
            out.write(chunk)
    except (DBAPIError, psycopg.Error) as exc:
        if out is not sys.stdout:
            out.close()
            partial.unlink(missing_ok=True)
        _fail(f"export stopped: {from_database(exc).message}")
    if out is not sys.stdout:
        out.close()
        partial.replace(output)
        typer.echo(f"wrote {output}", err=True)


@cli.command()
def demo() -> None:
    """Import the demo derivations and create the demo accounts that are missing."""
    _seed_demo(_sessions())


@math_cli.command("stats")
def math_stats(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="The paper's *_results.json files.")],
    show_failures: Annotated[bool, typer.Option("--failures", help="List what did not parse.")] = False,
) -> None:
    """Parse rate of every model's equations and faithful rate of the reference equations."""
    from app.math.parse_stats import file_stats

    for path in files:
        stats = file_stats(path)
        typer.echo(f"{path.name}")
        for model, rate in sorted(stats.parsed.items()):
            typer.echo(f"  {model:24s} parsed   {100 * rate.share:6.2f}%  ({rate.ok}/{rate.total} equations)")
            if show_failures:
                for failure in rate.failures:
                    typer.echo(f"      {failure}")
        rate = stats.faithful
        typer.echo(f"  {'references':24s} faithful {100 * rate.share:6.2f}%  ({rate.ok}/{rate.total} equations)")
        if show_failures:
            for failure in rate.failures:
                typer.echo(f"      {failure}")


@cli.command()
def check(
    project: Annotated[Optional[str], typer.Option(help="Check every derivation of this project and store the suggestions.")] = None,
    mutants: Annotated[Optional[int], typer.Option(help="Instead: score the checker on this many engine mutants.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --mutants.")] = 0,
) -> None:
    """SymPy pre-annotation: suggested labels per step (stored), or the checker's precision/recall on mutants."""
    if (project is None) == (mutants is None):
        _fail("give either --project NAME or --mutants N")
    if mutants is not None:
        from app.math.evaluation import evaluate

        with typer.progressbar(length=mutants, label="checking mutants", file=sys.stderr) as bar:
            report = evaluate(mutants, seed, progress=bar.update)
        typer.echo(f"{mutants} mutants (seed {seed}); the checker's 'yes' against the known labels:")
        typer.echo(f"  {'label':14s} {'precision':>9s} {'recall':>7s} {'tp':>5s} {'fp':>5s} {'fn':>5s} {'unknown':>8s}")
        for label, score in report.scores.items():
            p = "-" if score.precision is None else f"{100 * score.precision:.1f}%"
            r = "-" if score.recall is None else f"{100 * score.recall:.1f}%"
            typer.echo(f"  {label:14s} {p:>9s} {r:>7s} {score.tp:5d} {score.fp:5d} {score.fn:5d} {score.unknown:8d}")
        typer.echo(f"  false 'incorrect' on unmutated references: {report.false_incorrect_on_references} "
                   f"of {report.references}; timeouts: {report.timeouts}; checker errors: {len(report.errors)}")
        xs = sorted(report.seconds)
        if xs:
            typer.echo(f"  seconds per derivation: p50 {xs[len(xs) // 2]:.2f}, p95 {xs[int(0.95 * (len(xs) - 1))]:.2f}")
        return
    from app.services.checking import check_project

    sessions = _sessions()
    try:
        with typer.progressbar(length=1, label=f"checking {project}", file=sys.stderr) as bar:
            def total(n):
                bar.length = n
            def waiting(why: str, seconds: float) -> None:
                typer.echo(f"\nPostgreSQL cannot be reached ({why}); trying again in {seconds:g} s", err=True)
            stats = check_project(sessions, project_name=project, progress=bar.update, total=total, waiting=waiting)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    typer.echo(f"checked {stats.derivations} derivations of '{project}': p50 {stats.percentile(0.5):.2f} s, "
               f"p95 {stats.percentile(0.95):.2f} s per derivation, {stats.timeouts} out of time")


@problems_cli.command("generate")
def problems_generate(
    project: Annotated[str, typer.Option(help="Project name; created when new.")],
    count: Annotated[int, typer.Option(help="How many problems.")] = 100,
    seed: Annotated[int, typer.Option(help="The same seed gives the same problems.")] = 0,
    perturb: Annotated[str, typer.Option(help="Perturbations to add: any of VR,EE,AG,SR (empty for none).")] = "VR,EE,AG,SR",
) -> None:
    """Generate problems the way the paper did and store them with their reference derivations."""
    from app.db import transaction
    from app.services.problems import generate_problems

    chosen = tuple(p.strip() for p in perturb.split(",") if p.strip())
    unknown = [p for p in chosen if p not in ("VR", "EE", "AG", "SR")]
    if unknown or count < 1:
        _fail(f"--perturb: unknown {', '.join(unknown)} (use VR, EE, AG, SR)" if unknown else "--count must be at least 1")
    with transaction(_sessions()) as session:
        made = generate_problems(session, project_name=project, count=count, seed=seed, perturbations=chosen)
    added, written = made.added, made.written
    typer.echo(f"{added} new problems stored in '{project}' ({count} drawn with seed {seed}, {written} with their variants)")


def _start_workers(url: str, count: int):
    """`make run`: `count` check workers beside the web server, one SymPy process each (so
    `count` jobs run at once and an export waits for at most one job's end, never behind
    the queue: it is claimed first), kept alive by a supervisor. The first also takes
    generation jobs when torch and transformers (the `worker` extra) are installed: one model
    in memory."""
    import importlib.util

    from app.worker.supervisor import Supervisor, worker_commands

    generate = bool(importlib.util.find_spec("torch") and importlib.util.find_spec("transformers"))
    typer.echo(f"{count} worker(s) started for check and export jobs"
               + ("; the first also generates" if generate else " (generation needs the worker extra: make worker-deps)"))
    return Supervisor(worker_commands(count, generate), {**os.environ, "DATABASE_URL": url}, say=typer.echo).start()


@cli.command()
def worker(
    kinds: Annotated[str, typer.Option(help="Job kinds to take: any of generate, check, export, metrics.")] = "generate,check,export,metrics",
    device: Annotated[str, typer.Option(help="cpu, cuda or auto (cuda when torch sees a GPU).")] = "auto",
    exit_when_idle: Annotated[bool, typer.Option("--exit-when-idle", help="Stop when no job is left (for scripts).")] = False,
    lease_seconds: Annotated[float, typer.Option(help="A job whose worker is silent this long goes back to the queue.")] = 30.0,
    poll_seconds: Annotated[float, typer.Option(help="How often an idle worker looks for jobs.")] = 1.0,
    sandbox_processes: Annotated[Optional[int], typer.Option(min=1, help="SymPy processes checking one job's "
                                                                         "derivations at once (default: cores, at most 4).")] = None,
) -> None:
    """Run a worker: claims generation, check and export jobs from the database until stopped."""
    from app.worker.run import WorkerOptions, run

    try:
        typer.echo(run(WorkerOptions(kinds, device, exit_when_idle, lease_seconds, poll_seconds, sandbox_processes),
                       _sessions))
    except ValueError as exc:
        _fail(str(exc))


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


@jobs_cli.command("list")
def jobs_list(
    run: Annotated[Optional[int], typer.Option(help="Only this run's jobs.")] = None,
    limit: Annotated[int, typer.Option()] = 30,
) -> None:
    """The newest jobs with their state, attempts and last error."""
    from app.db import transaction
    from app.repositories import jobs as jobs_repo

    with transaction(_sessions()) as session:
        counts = jobs_repo.counts(session, run_id=run)
        rows = jobs_repo.list_recent(session, run_id=run, limit=limit)
    typer.echo(", ".join(f"{n} {state}" for state, n in counts.items()))
    for job in rows:
        error = (job.error or "").strip().splitlines()
        typer.echo(f"  job {job.id:6d} {job.kind:9s} {job.state.value:8s} attempts {job.attempts}/{job.max_attempts}"
                   + (f"  {error[0][:100]}" if error else ""))


@jobs_cli.command("retry")
def jobs_retry(
    job_ids: Annotated[Optional[list[int]], typer.Argument(help="Failed jobs to retry (default: every failed job).")] = None,
    run: Annotated[Optional[int], typer.Option(help="Every failed job of this run.")] = None,
) -> None:
    """Put failed jobs back in the queue (their last error stays visible until they succeed)."""
    from app import jobs
    from app.db import transaction

    with transaction(_sessions()) as session:
        n = jobs.retry(session, job_ids=job_ids, run_id=run)
    typer.echo(f"{n} failed jobs queued again")


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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
