"""Starting a worker (`derivlab worker`, `python -m app.worker`, and the workers `derivlab serve`
supervises): check the options, open the database, claim jobs until stopped."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.config import get_settings

KINDS = "generate,check,export,metrics"


@dataclass
class WorkerOptions:
    kinds: str = KINDS
    device: str = "auto"
    exit_when_idle: bool = False
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    sandbox_processes: int | None = None


def run(options: WorkerOptions, sessions: Callable) -> str:
    """Claim jobs until stopped (or, with exit_when_idle, until none is left); what it did, in
    words. `sessions()` opens the database. Bad options raise ValueError before anything starts."""
    from app.worker.backends import BackendCache, NoGPU, resolve_device
    from app.worker.handlers import Context
    from app.worker.loop import Worker
    from app.worker.supervisor import stop_with_parent

    stop_with_parent()  # started by `derivlab serve`: end with it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    chosen = [k.strip() for k in options.kinds.split(",") if k.strip()]
    if options.device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"--device must be cpu, cuda or auto (got {options.device})")
    if "generate" in chosen and options.device != "cpu":
        try:
            resolve_device(options.device)
        except NoGPU as exc:
            raise ValueError(str(exc)) from None
        except ImportError:
            raise ValueError("generation needs torch and transformers: pip install 'derivation-lab[worker]' "
                             "(or make worker-deps), or run with --kinds check") from None
    settings = get_settings()
    ctx = Context(sessions(), BackendCache(options.device, settings.openai_base_url, settings.openai_api_key),
                  sandbox_processes=options.sandbox_processes)
    loop = Worker(ctx, kinds=chosen, lease_seconds=options.lease_seconds, poll_seconds=options.poll_seconds)
    loop.install_signal_handlers()
    stats = loop.run(exit_when_idle=options.exit_when_idle)
    return f"worker {loop.id} stopped: {stats.done} jobs done, {stats.failed} failed, {stats.lost} lost"


def main(argv: list[str] | None = None) -> None:
    """`python -m app.worker` with `derivlab worker`'s options (the supervisor starts workers so)."""
    import sys

    from app.db import DatabaseUnusable, open_sessions

    parser = argparse.ArgumentParser(prog="python -m app.worker", description="Run a worker (see `derivlab worker --help`).")
    parser.add_argument("--kinds", default=KINDS)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--exit-when-idle", action="store_true")
    parser.add_argument("--lease-seconds", type=float, default=30.0)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--sandbox-processes", type=int, default=None)
    a = parser.parse_args(argv)
    try:
        print(run(WorkerOptions(a.kinds, a.device, a.exit_when_idle, a.lease_seconds, a.poll_seconds,
                                a.sandbox_processes), lambda: open_sessions(get_settings())), flush=True)
    except (ValueError, DatabaseUnusable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
