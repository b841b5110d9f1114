"""The background workers `derivlab serve` starts beside the web server, kept alive.

A worker that dies (kill -9, out of memory, a crash in a native library) is started again
with a back-off (1 s, doubling to 30 s; back to 1 s once a worker has run a minute), and the
log says so. Its job in hand goes back to the queue when its lease lapses (app.worker.loop),
so the queue moves on. Written here rather than with a process manager (supervisord, systemd):
`make run` is one command on a researcher's laptop, with nothing else to install or configure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST_DELAY, MAX_DELAY = 1.0, 30.0
HEALTHY_AFTER = 60.0  # a worker that ran this long starts the back-off again from FIRST_DELAY
# the worker asks the kernel for SIGTERM when serve ends, even by SIGKILL (see stop_with_parent)
STOP_WITH_PARENT = "DERIVLAB_STOP_WITH_PARENT"


def stop_with_parent() -> None:
    """In a worker serve started: SIGTERM when serve dies (Linux; elsewhere nothing). Set by the
    worker itself, not in a preexec_fn, which is unsafe once serve runs threads."""
    if not os.environ.get(STOP_WITH_PARENT):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(os.environ[STOP_WITH_PARENT]):  # serve died before the call
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class _Slot:
    number: int
    command: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    delay: float = FIRST_DELAY
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    commands: list[list[str]]
    env: dict[str, str]
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    poll_seconds: float = 0.5

    def __post_init__(self) -> None:
        self.slots = [_Slot(n + 1, command) for n, command in enumerate(self.commands)]
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the watcher and stop() both touch the slots
        self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> Supervisor:
        for slot in self.slots:
            self._spawn(slot)
        self._watcher.start()
        return self

    def _spawn(self, slot: _Slot) -> None:
        env = {**self.env, STOP_WITH_PARENT: str(os.getpid())}
        slot.process = subprocess.Popen(slot.command, env=env)
        slot.started, slot.restart_at = time.monotonic(), None
        self.say(f"worker {slot.number} started (pid {slot.process.pid})")

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            with self._lock:
                if self._stopping.is_set():
                    return
                for slot in self.slots:
                    self._look_after(slot)

    def _look_after(self, slot: _Slot) -> None:
        now = time.monotonic()
        if slot.restart_at is not None:
            if now >= slot.restart_at:
                slot.restarts += 1
                self._spawn(slot)
            return
        code = slot.process.poll() if slot.process else None
        if code is None:
            return
        if now - slot.started >= HEALTHY_AFTER:
            slot.delay = FIRST_DELAY
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self.say(f"worker {slot.number} (pid {slot.process.pid}) {how}; starting it again in {slot.delay:g} s "
                 "(its job in hand goes back to the queue when its lease lapses)")
        slot.restart_at = now + slot.delay
        slot.delay = min(MAX_DELAY, slot.delay * 2)

    def stop(self, timeout: float = 10.0) -> None:
        """Each worker finishes its job in hand, then stops; one that does not in `timeout` is killed."""
        self._stopping.set()
        with self._lock:
            running = [s.process for s in self.slots if s.process and s.process.poll() is None]
            for process in running:
                process.terminate()
            for process in running:
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
        if self._watcher.is_alive():
            self._watcher.join(timeout=2 * self.poll_seconds + 1)


def worker_commands(count: int, generate: bool) -> list[list[str]]:
    """`count` check workers, one SymPy process each; the first also generates when it can."""
    out = []
    for i in range(count):
        kinds = ["generate", "check", "export", "metrics"] if generate and i == 0 else ["check", "export", "metrics"]
        out.append([sys.executable, "-m", "app.worker", "--kinds", ",".join(kinds), "--sandbox-processes", "1"])
    return out
