"""CSV export: our streamed export (what the route sends: PostgreSQL's COPY of the export
query, decoded and passed on) against reading `COPY (the same query) TO STDOUT` alone,
and the Python heap's peak while streaming, at two sizes (flat memory: the same peak).

The peer to beat: Label Studio exports 15,000 annotated tasks as CSV in ~31 s with
~785 MiB peak (about 2 ms per task). The first size here is 15,000 annotated
derivations (two annotators each).

    .venv/bin/python bench/export.py [--sizes 15000,60000]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from app.repositories import exports as exports_repo  # noqa: E402
from app.services import exporting  # noqa: E402
from app.services.exporting import METRICS  # noqa: E402
from bench.seed import scratch_database, seed  # noqa: E402

LABELS = ["incorrect", "irrelevant", "redundant", "skipped"]


def ours(sessions, project_id: int, level: str) -> tuple[float, int, int]:
    """Seconds, bytes written, Python heap peak while streaming."""
    tracemalloc.start()
    started = time.perf_counter()
    size = 0
    for chunk in exporting.stream_csv(sessions, project_id=project_id, labels=LABELS, level=level):
        size += len(chunk)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, size, peak


def copy(sessions, project_id: int, level: str) -> tuple[float, int]:
    """The same statement read with psycopg's COPY and nothing else (the floor)."""
    statement = (exports_repo.step_copy(project_id, LABELS) if level == "step"
                 else exports_repo.derivation_copy(project_id, LABELS, METRICS))
    session = sessions()
    try:
        cursor = session.connection().connection.driver_connection.cursor()
        started = time.perf_counter()
        size = 0
        with cursor.copy(statement) as out:
            for block in out:
                size += len(block)
        return time.perf_counter() - started, size
    finally:
        session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="export time vs COPY, and memory")
    parser.add_argument("--sizes", default="15000,60000", help="annotated derivations per run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with scratch_database("bench_export") as (_, sessions):
        for n in sizes:
            pid = seed(sessions, project=f"export {n}", labels=5 * n)
            with sessions() as session:
                annotations = session.execute(text(
                    "SELECT count(*) FROM annotations a JOIN derivations d ON d.id = a.derivation_id "
                    "WHERE d.project_id = :p"), {"p": pid}).scalar_one()
            print(f"{n:,} annotated derivations ({annotations:,} annotations):")
            for level in ("derivation", "step"):
                t_ours, b_ours, peak = ours(sessions, pid, level)
                t_copy, b_copy = copy(sessions, pid, level)
                print(f"  {level:10s} ours {t_ours:6.2f} s ({b_ours / 2**20:6.1f} MiB, heap peak "
                      f"{peak / 2**10:5.0f} KiB)  COPY {t_copy:6.2f} s  ratio {t_ours / t_copy:4.2f}  "
                      f"({1000 * t_ours / n:.3f} ms per derivation)")


if __name__ == "__main__":
    main()
