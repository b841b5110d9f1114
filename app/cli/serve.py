"""Serving: the web app with its workers and embedded PostgreSQL, a worker alone, the demo."""

from __future__ import annotations

import os
import socket
from typing import Annotated, Optional

import typer

from app.config import get_settings

from app.cli.base import cli, _sessions, _fail


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
            from app.cli.listeners import BalancedMultiprocess, listener

            config = uvicorn.Config("app.main:create_app", factory=True, workers=workers, host=host, port=port,
                                    log_level="info", **settings.uvicorn_options())
            # one listening socket per process (SO_REUSEPORT): the kernel spreads connections evenly
            BalancedMultiprocess(config, [listener(host, port) for _ in range(workers)]).run()
    finally:
        if supervisor:
            supervisor.stop()  # each worker finishes its job in hand, then stops


@cli.command()
def demo() -> None:
    """Import the demo derivations and create the demo accounts that are missing."""
    _seed_demo(_sessions())


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
