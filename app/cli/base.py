"""The Typer apps every command group hangs on, and what the commands share: opening the
database, failing with a message."""

from __future__ import annotations


import typer

from app.config import get_settings


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
