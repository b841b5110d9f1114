"""Dashboard latency at 10k and 1M step labels: p50/p95 of each dashboard's queries
(in-process, through the same repository functions the page uses), and the ratio.

    .venv/bin/python bench/dashboard.py [--small 10000] [--large 1000000] [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed import count_labels, scratch_database, seed  # noqa: E402
from app.db import transaction  # noqa: E402
from app.repositories import dashboards as repo  # noqa: E402
from app.repositories.dashboards import Filters  # noqa: E402

DASHBOARDS = {
    "1 errors per model": (repo.totals, repo.label_counts),
    "2 perturbation effects": (repo.totals, repo.label_counts),
    "3 metrics vs humans": (repo.spearman, repo.metric_points),
    "4 checker vs humans": (repo.checker_scores, repo.checker_examples),
    "5 progress": (repo.progress_models, repo.progress_annotators, repo.throughput),
}


def measure(sessions, filters: Filters, runs: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name, queries in DASHBOARDS.items():
        times = []
        for _ in range(runs):
            with transaction(sessions) as session:
                started = time.perf_counter()
                for query in queries:
                    query(session, filters)
                times.append((time.perf_counter() - started) * 1000)
        times.sort()
        out[name] = (statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="dashboard p50/p95 at two sizes")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with scratch_database("bench_dash") as (_, sessions):
        results = {}
        for size in (args.small, args.large):
            started = time.perf_counter()
            pid = seed(sessions, project=f"bench {size}", labels=size)
            n = count_labels(sessions, pid)
            print(f"seeded {n:,} step labels in {time.perf_counter() - started:.1f} s")
            results[size] = (n, measure(sessions, Filters(pid), args.runs))
        (n_small, small), (n_large, large) = results[args.small], results[args.large]
        print(f"{'dashboard':24s} {'p50 small':>10s} {'p95 small':>10s} {'p50 large':>10s} {'p95 large':>10s} "
              f"{'p95 ratio':>9s}   ({n_small:,} vs {n_large:,} labels, ms)")
        for name in DASHBOARDS:
            (s50, s95), (l50, l95) = small[name], large[name]
            print(f"{name:24s} {s50:10.1f} {s95:10.1f} {l50:10.1f} {l95:10.1f} {l95 / s95:9.1f}")


if __name__ == "__main__":
    main()
