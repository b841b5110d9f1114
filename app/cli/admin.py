"""Administration: the schema, user accounts, the job queue."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from app.errors import DomainError

from app.cli.base import db_cli, user_cli, jobs_cli, _sessions, _fail


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
