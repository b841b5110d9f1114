"""Dashboard latency at 10k and 1M step labels: p50/p95 of each dashboard's queries
(in-process, through the same functions the page uses: the rollups, brought up to date
first), and the ratio. Also: the time to bring the rollups up to date after the bulk
load (every derivation dirty), and the live queries' p95 for comparison.

    .venv/bin/python bench/dashboard.py [--small 10000] [--large 1000000] [--runs 50]
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

from sqlalchemy import create_engine, text  # noqa: E402

from bench.seed import count_labels, scratch_database, seed  # noqa: E402
from app.db import transaction  # noqa: E402
from app.repositories import dashboards as live  # noqa: E402
from app.repositories import rollups  # noqa: E402
from app.repositories.dashboards import Filters  # noqa: E402
from app.services.dashboards import source  # noqa: E402

DASHBOARDS = {
    "1 errors per model": ("totals", "label_counts"),
    "2 perturbation effects": ("totals", "label_counts"),
    "3 metrics vs humans": ("spearman", "metric_points"),
    "4 checker vs humans": ("checker_scores", "checker_examples"),
    "5 progress": ("progress_models", "progress_annotators", "throughput"),
}


def measure(sessions, filters: Filters, runs: int, use_live: bool = False) -> dict[str, tuple[float, float, float]]:
    """(p50, p95, first) per dashboard in ms; the first read (which fills the Spearman
    cache after a change) is reported apart and left out of p50/p95."""
    out = {}
    for name, queries in DASHBOARDS.items():
        times = []
        for _ in range(runs + 1):
            with transaction(sessions) as session:
                started = time.perf_counter()
                src = live if use_live else source(session, filters)  # source() refreshes the rollups
                for query in queries:
                    getattr(src, query)(session, filters)
                times.append((time.perf_counter() - started) * 1000)
        first, times = times[0], sorted(times[1:])
        out[name] = (statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], first)
    return out


def vacuum(url: str) -> None:
    """What autovacuum does within a minute of a bulk load (migration 0007 sets it to
    vacuum the dirty-marks table after 1,000 dead rows); measured is that steady state."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="dashboard p50/p95 at two sizes")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--live-runs", type=int, default=3, help="runs of the live queries (0: skip)")
    args = parser.parse_args()
    with scratch_database("bench_dash") as (url, sessions):
        results = {}
        for size in (args.small, args.large):
            started = time.perf_counter()
            pid = seed(sessions, project=f"bench {size}", labels=size)
            n = count_labels(sessions, pid)
            print(f"seeded {n:,} step labels in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            with transaction(sessions) as session:
                recomputed = rollups.refresh(session)
            print(f"rollups brought up to date for {recomputed:,} derivations in {time.perf_counter() - started:.1f} s")
            vacuum(url)
            results[size] = (n, measure(sessions, Filters(pid), args.runs))
            if args.live_runs:
                slow = measure(sessions, Filters(pid), args.live_runs, use_live=True)
                print("live queries p95 (ms): " + ", ".join(f"{k.split()[0]}: {v[1]:.0f}" for k, v in slow.items()))
        (n_small, small), (n_large, large) = results[args.small], results[args.large]
        print(f"{'dashboard':24s} {'p50 small':>10s} {'p95 small':>10s} {'p50 large':>10s} {'p95 large':>10s} "
              f"{'p95 ratio':>9s} {'1st small':>10s} {'1st large':>10s}   ({n_small:,} vs {n_large:,} labels, ms)")
        for name in DASHBOARDS:
            (s50, s95, s1), (l50, l95, l1) = small[name], large[name]
            print(f"{name:24s} {s50:10.1f} {s95:10.1f} {l50:10.1f} {l95:10.1f} {l95 / s95:9.1f} {s1:10.1f} {l1:10.1f}")


if __name__ == "__main__":
    main()
