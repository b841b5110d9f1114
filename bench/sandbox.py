"""The time-bounded SymPy sandbox: what a call costs, and what an overrun costs.

Prints, measured in one run: per-call overhead of a warm worker (a trivial function),
the same call made in-process, the time to kill an overrunning worker and get an answer
from its fresh replacement, and their ratios.

    .venv/bin/python bench/sandbox.py
"""

from __future__ import annotations

import operator
import statistics
import sys
import time
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.math.latex import parse_equation  # noqa: E402
from app.math.sandbox import Sandbox  # noqa: E402


def main() -> None:
    box = Sandbox(workers=1)
    box.call(parse_equation, r"x = 1", timeout=30)  # warm the parser in the worker
    n = 2000
    started = time.perf_counter()
    for _ in range(n):
        box.call(operator.add, 1, 2)
    per_call = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for _ in range(n):
        operator.add(1, 2)
    in_process = (time.perf_counter() - started) / n
    respawns = []
    for _ in range(5):
        started = time.perf_counter()
        outcome = box.call(parse_equation, r"x = 7^{987654321}", timeout=0.2)
        assert outcome.timed_out
        box.call(operator.add, 1, 2)
        respawns.append(time.perf_counter() - started - 0.2)
    box.close()
    print(f"sandbox call overhead: {per_call * 1e3:.3f} ms per call ({per_call / in_process:.0f}x an in-process call)")
    print(f"overrun: kill + fresh worker answering: {statistics.median(respawns) * 1e3:.0f} ms median "
          f"({statistics.median(respawns) / per_call:.0f}x a warm call)")


if __name__ == "__main__":
    main()
