"""The data page's queries at scale (issue 25): server time of the first page of filter
combinations with a sort, the facet counts, a text search, and a bulk re-check over ~10,000
rows, on a synthetic project (bench/seed.py: 3 models, 5 perturbations, 5 steps each, two
annotators, SymPy checks on every step).

    DATABASE_URL=... .venv/bin/python bench/browse.py [--derivations 100000] [--reads 20]

Targets (issue 25): first page p95 <= 50 ms, facets <= 150 ms, text search <= 100 ms, a bulk
action over 10,000 rows <= 5 s. Label Studio's task list beside it is left to
../shared/tools/peer-bench (not run here)."""

from __future__ import annotations

import argparse
import statistics
import time

import seed as seeding  # bench/seed.py (it keeps this folder off sys.path for the stdlib's queue)
from sqlalchemy import create_engine, text

from app.db import transaction
from app.repositories import browse as repo
from app.repositories import rollups
from app.services import browse

VIEWS = {
    "no filter, by id": {},
    "model + perturbation, by rouge2 desc": {"model": "fake-model-2", "perturbation": "VR", "sort": "rouge2",
                                              "dir": "desc"},
    "SymPy incorrect, humans not, by bleu": {"sympy_not_humans": "incorrect", "sort": "bleu"},
    "humans marked skipped + model, by steps": {"human": "skipped", "model": "fake-model-1", "sort": "steps"},
    "state disputed, by annotations desc": {"state": "disputed", "sort": "annotations", "dir": "desc"},
    "rouge2 0.2-0.3 + annotator, by gleu": {"rouge2_min": "0.2", "rouge2_max": "0.3", "annotator": "bench-1",
                                             "sort": "gleu"},
}
SEARCH = {"q": "x_3 = 4242"}


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def timed(sessions, fn, reads: int) -> tuple[float, float, object]:
    seconds, out = [], None
    for _ in range(reads):
        with transaction(sessions) as session:
            t = time.perf_counter()
            out = fn(session)
            seconds.append(time.perf_counter() - t)
    return statistics.median(seconds) * 1000, _p95(seconds) * 1000, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--derivations", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=20)
    args = parser.parse_args()
    with seeding.scratch_database("bench_browse") as (url, sessions):
        t = time.perf_counter()
        pid = seeding.seed(sessions, project="browse", labels=args.derivations * 5, engine_problems=60)
        seeded = time.perf_counter() - t
        t = time.perf_counter()
        with transaction(sessions) as session:
            rollups.refresh(session)
        refreshed = time.perf_counter() - t
        vacuum = create_engine(url, isolation_level="AUTOCOMMIT")  # the steady state autovacuum reaches
        with vacuum.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        vacuum.dispose()
        with transaction(sessions) as session:
            n = session.execute(text("SELECT count(*) FROM derivations WHERE project_id = :p"), {"p": pid}).scalar()
            steps = session.execute(text("SELECT count(*) FROM steps")).scalar()
        print(f"{n:,} derivations, {steps:,} steps; seeded in {seeded:.0f} s, rollups brought up to date in "
              f"{refreshed:.1f} s")

        def first_page(params):
            def run(session):
                view = browse.parse(session, project_id=pid, params=params)
                return repo.page(session, view.filters, sort=view.sort, descending=view.descending, limit=50,
                                 offset=0)
            return run

        print(f"first page of 50 (server time, {args.reads} reads each; target p95 <= 50 ms)")
        for name, params in VIEWS.items():
            median, p95, (ids, total) = timed(sessions, first_page(params), args.reads)
            print(f"  {name:42} median {median:7.1f} ms  p95 {p95:7.1f} ms  ({total:,} match)")

        def facets(session):
            view = browse.parse(session, project_id=pid, params={"model": "fake-model-2"})
            return repo.facets(session, view.filters)
        median, p95, _ = timed(sessions, facets, max(3, args.reads // 4))
        print(f"facet counts (model, perturbation, state; target <= 150 ms): median {median:.1f} ms, p95 {p95:.1f} ms")

        median, p95, (_, total) = timed(sessions, first_page(SEARCH), args.reads)
        print(f"text search '{SEARCH['q']}' (target <= 100 ms): median {median:.1f} ms, p95 {p95:.1f} ms "
              f"({total} match)")

        def page_rows(session):
            view = browse.parse(session, project_id=pid, params={})
            return repo.rows(session, repo.page(session, view.filters, sort="id", descending=False, limit=50,
                                                offset=0)[0])
        median, p95, _ = timed(sessions, page_rows, args.reads)
        print(f"a page's columns (labels, SymPy, state of 50 rows): median {median:.1f} ms, p95 {p95:.1f} ms")

        bulk = {"model": "fake-model-3", "perturbation": "EE"}
        with transaction(sessions) as session:
            t = time.perf_counter()
            view = browse.parse(session, project_id=pid, params=bulk)
            chosen = browse.ids(session, view, chosen=None)
            browse.recheck(session, chosen)
            seconds = time.perf_counter() - t
        print(f"bulk re-check of everything matching {bulk} (target <= 5 s for 10,000): {len(chosen):,} "
              f"derivations in {seconds:.2f} s")


if __name__ == "__main__":
    main()
