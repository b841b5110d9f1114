"""derivlab: run, set up, import and export from the command line."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from app.config import get_settings
from app.errors import DomainError

cli = typer.Typer(help="Derivation Lab: find out how language models get derivations wrong.",
                  no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
user_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
math_cli = typer.Typer(help="The math core: parsing and checking equations.", no_args_is_help=True)
problems_cli = typer.Typer(help="Derivation problems from the symbolic engine.", no_args_is_help=True)
cli.add_typer(problems_cli, name="problems")
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(math_cli, name="math")


def _sessions():
    """Migrated database and its sessionmaker (embedded PostgreSQL when DATABASE_URL is unset)."""
    from app.db import database_url, make_engine, make_sessionmaker, upgrade

    url = database_url(get_settings())
    upgrade(url)
    return make_sessionmaker(make_engine(url))


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
) -> None:
    """Apply migrations, seed the demo into an empty database, and serve the web app."""
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
    typer.secho(f"Derivation Lab on http://{host}:{port}", fg="green")
    uvicorn.run(create_app(settings, sessions), host=host, port=port, log_level="info")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations."""
    _sessions()
    typer.echo("database is up to date")


@user_cli.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, annotator or reviewer")] = "annotator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user; the password is asked for (or read from stdin)."""
    from app.db import transaction
    from app.services.auth import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction(_sessions()) as session:
            user = create_user(session, username=name, password=password, role=role)
            typer.echo(f"created {user.role.value} '{user.username}'")
    except DomainError as exc:
        _fail(exc.message, exc.details)


@cli.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    project: Annotated[str, typer.Option(help="Project name; created when new.")],
    format: Annotated[Optional[str], typer.Option(help="paper-json, jsonl or csv (default: from the file name).")] = None,
) -> None:
    """Import derivations (the paper's *_results.json, JSONL or CSV). All or nothing."""
    import hashlib

    from app.db import transaction
    from app.services.import_formats import read_records
    from app.services.importing import import_records

    data = file.read_bytes()
    sessions = _sessions()
    try:
        fmt, records = read_records(file.name, data, format)
        with typer.progressbar(length=len(records), label=f"importing {file.name}", file=sys.stderr) as bar:
            with transaction(sessions) as session:
                result = import_records(session, project_name=project, filename=file.name,
                                        sha256=hashlib.sha256(data).hexdigest(), fmt=fmt, records=records,
                                        progress=bar.update)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    if result.already_imported:
        typer.echo(f"{file.name} was already imported into '{result.project}': 0 derivations added")
    else:
        typer.echo(f"{result.added} derivations added to '{result.project}' "
                   f"({result.records} read, {result.problems_added} new problems)")


@cli.command()
def export(
    project: Annotated[str, typer.Option(help="Project name.")],
    level: Annotated[str, typer.Option(help="step or derivation")] = "step",
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write ('-' for stdout).")] = Path("-"),
) -> None:
    """Export a project's labels as CSV, streamed from the database."""
    from app.db import transaction
    from app.services import exporting

    sessions = _sessions()
    try:
        with transaction(sessions) as session:
            project_id, labels, _ = exporting.check_export(session, project_name=project, level=level)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    out = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8", newline="")
    try:
        for chunk in exporting.stream_csv(sessions, project_id=project_id, labels=labels, level=level):
            out.write(chunk)
    finally:
        if out is not sys.stdout:
            out.close()
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
                   f"of {report.references}; timeouts: {report.timeouts}")
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
            stats = check_project(sessions, project_name=project, progress=bar.update, total=total)
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
        added, written = generate_problems(session, project_name=project, count=count, seed=seed, perturbations=chosen)
    typer.echo(f"{added} new problems stored in '{project}' ({count} drawn with seed {seed}, {written} with their variants)")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
