"""Every time budget of the math in one place, and a soft time limit for Python-level SymPy
work, via SIGPROF (main thread only).

A soft limit cannot stop C-level work (a huge integer power): untrusted input therefore also
runs inside app.math.sandbox, whose hard limit kills the process. Within a derivation's
budget every soft limit is cut to what is left of it, so a hostile derivation costs the
budget, then "unknown" for what it did not reach, and says so.

Soft limits and budgets count this process's CPU time (ITIMER_PROF), not the wall clock: a
verdict must not depend on what else the machine is doing (a shared CI runner, a second
worker), only on the work the derivation asks for."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager


OP_SECONDS = 0.5  # one SymPy simplification inside a check
DERIVATION_SECONDS = 2.0  # a derivation's check and proposals, together (soft: what is left is "unknown")
CHECK_TIMEOUT = 15.0  # the sandbox's hard limit on one derivation (C-level work no soft limit stops; and
# parsing, which the budget does not cut: ANTLR can take seconds on a long equation in a cold worker)
PARSE_TIMEOUT = 5.0  # the sandbox's hard limit on parsing one equation (benchmarks)
ENGINE_OP_SECONDS = 3.0  # a guard on the engine's own operations (its filters keep far below it)


class TooSlow(Exception):
    pass


_deadline: float | None = None  # the running derivation's budget (this process's CPU clock)
_clock = time.process_time


@contextmanager
def budget(seconds: float = DERIVATION_SECONDS):
    """A budget for the work inside (nested: the outer, earlier deadline stands)."""
    global _deadline
    previous = _deadline
    mine = _clock() + seconds
    _deadline = mine if previous is None else min(previous, mine)
    try:
        yield
    finally:
        _deadline = previous


def budget_spent() -> bool:
    return _deadline is not None and _clock() >= _deadline


def why_too_slow() -> str:
    """The reason a step says when SymPy stopped."""
    if budget_spent():
        return f"SymPy stopped: the derivation's time budget ({DERIVATION_SECONDS:g} s) is spent"
    return "SymPy ran out of time"


@contextmanager
def time_limit(seconds: float):
    """At most `seconds` of this process's CPU time for the block (TooSlow past it)."""
    if _deadline is not None:
        left = _deadline - _clock()
        if left <= 0:
            raise TooSlow()
        seconds = left if seconds <= 0 else min(seconds, left)
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield  # no signals off the main thread; the sandbox still bounds the work
        return

    inside = [True]

    def _raise(signum, frame):
        if not inside[0]:
            return  # the block is over: a late tick must not escape into the caller
        # Python swallows an exception raised while it runs a gc callback ("Exception ignored
        # in ..."): fire again shortly, so an overrun still stops; leaving the block disarms it
        signal.setitimer(signal.ITIMER_PROF, 0.05)
        raise TooSlow()

    previous = signal.signal(signal.SIGPROF, _raise)
    started = _clock()
    remaining = signal.setitimer(signal.ITIMER_PROF, seconds)[0]
    try:
        yield
    finally:
        inside[0] = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        if remaining:  # an enclosing limit was running: give it back what is left of it
            signal.setitimer(signal.ITIMER_PROF, max(remaining - (_clock() - started), 0.001))


def disarm() -> None:
    """No soft limit left running (a worker between calls: a stray tick must not kill it)."""
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.signal(signal.SIGPROF, signal.SIG_IGN)
