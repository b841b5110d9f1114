"""A soft time limit for Python-level SymPy work, via SIGALRM (main thread only).

It cannot stop C-level work (a huge integer power): untrusted input therefore
also runs inside app.math.sandbox, whose hard limit kills the process."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager


class TooSlow(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield  # no signals off the main thread; the sandbox still bounds the work
        return

    def _raise(signum, frame):
        # Python swallows an exception raised while it runs a gc callback ("Exception ignored
        # in ..."): fire again shortly, so an overrun still stops; leaving the block disarms it
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise TooSlow()

    previous = signal.signal(signal.SIGALRM, _raise)
    started = time.monotonic()
    remaining = signal.setitimer(signal.ITIMER_REAL, seconds)[0]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if remaining:  # an enclosing limit was running: give it back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - started), 0.001))
