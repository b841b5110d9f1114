"""derivlab: run, set up, import and export from the command line (`derivlab --help`).

One Typer app (app.cli.base) with its commands in modules by what they are for: serve,
data (in and out, checks), runs (generation), admin (schema, users, the queue)."""

from app.cli import serve, data, runs, admin  # noqa: F401, I001 (importing registers their commands; serve first in --help)
from app.cli.base import cli


def main() -> None:
    cli()
