"""Run SymPy work under a hard time limit, in warm worker processes that are
killed when they overrun.

A signal cannot interrupt SymPy in C-level big-integer arithmetic and threads
cannot be killed, so each call goes to a persistent child process over a pipe;
when the answer does not come within the limit the child is killed and a fresh
one takes its place, and the caller gets an Outcome saying "timed out" (which
checks turn into "unknown"), never a hang. Written here rather than taken from a
pool library: concurrent.futures and multiprocessing.Pool cannot kill one
overrunning task without tearing down the whole pool.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT = 2.0
# Address space per worker (RLIMIT_AS): a hostile expression (10^{10^{10}}, a huge factorial)
# gets a MemoryError, reported as that call's error, instead of taking the machine's memory.
# A warm worker maps about 220 MB; one step was seen to reach 487 MB.
MEMORY_BYTES = int(os.environ.get("DERIVLAB_SANDBOX_MEMORY_MB", "1536")) * 1024 * 1024
START_SECONDS = 120.0  # a fresh worker's start-up (the forkserver's first SymPy import on a loaded machine)


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: str | None = None
    timed_out: bool = False


def _warm() -> None:
    """What the first check would otherwise pay inside its time limit: SymPy's ANTLR
    grammar is imported lazily on the first parse (seconds on a loaded machine)."""
    from app.math.latex import parse_equation

    parse_equation("x = 1")


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still holds
        pass


def _serve(conn) -> None:  # runs in the child
    from app.math.limits import disarm

    _limit_memory()
    _warm()
    conn.send(("ready", None))
    while True:
        disarm()  # between calls no soft limit runs: a stray tick must not kill the worker
        try:
            fn, args = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            conn.send(("ok", fn(*args)))
        except MemoryError:  # the allocation failed and was freed: the worker lives on
            conn.send(("error", f"MemoryError: more than {MEMORY_BYTES // 2**20} MB"))
        except Exception as exc:  # reported to the caller, the worker lives on
            try:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
            except Exception:
                conn.send(("error", type(exc).__name__))


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> bool:
        """Wait for the child's "ready" (outside any call's time limit: a cold start on a
        loaded machine must not turn a quick check into a timeout)."""
        if not self.ready and self.conn.poll(START_SECONDS):
            self.ready = self.conn.recv()[0] == "ready"
        return self.ready

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class Sandbox:
    def __init__(self, workers: int | None = None):
        self.ctx = mp.get_context("forkserver")
        # Children fork from a server that has SymPy and the parser loaded already.
        self.ctx.set_forkserver_preload(["app.math.checker", "app.math.proposals", "app.math.srepr"])
        self.size = workers or max(1, min(4, os.cpu_count() or 1))
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.closed = False
        self.respawns = 0
        for _ in range(self.size):
            self.idle.put(_Worker(self.ctx))

    def call(self, fn: Callable, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
        """fn(*args) in a worker; fn must be a module-level function (it is pickled by name)."""
        if self.closed:
            raise RuntimeError("sandbox is closed")
        worker = self.idle.get()
        try:
            if not worker.wait_ready():
                worker = self._replace(worker)
                return Outcome(ok=False, error=f"a sandbox worker did not start within {START_SECONDS:g} s")
            worker.conn.send((fn, args))
            if worker.conn.poll(timeout):
                status, value = worker.conn.recv()
                return Outcome(ok=True, value=value) if status == "ok" else Outcome(ok=False, error=value)
            worker = self._replace(worker)
            return Outcome(ok=False, error=f"no answer within {timeout:g} s", timed_out=True)
        except (EOFError, BrokenPipeError, OSError) as exc:
            worker = self._replace(worker)
            return Outcome(ok=False, error=f"worker process failed ({type(exc).__name__})")
        finally:
            self.idle.put(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        self.respawns += 1
        return _Worker(self.ctx)

    def close(self) -> None:
        self.closed = True
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                break


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default
