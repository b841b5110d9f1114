"""The data page's queries at scale (issue 25): server time of the first page of filter
combinations with a sort, the facet counts, a text search, and a bulk re-check over ~10,000
rows, on a synthetic project (bench/seed.py: 3 models, 5 perturbations, 5 steps each, two
annotators, SymPy checks on every step).

    DATABASE_URL=... .venv/bin/python bench/browse.py [--derivations 100000] [--reads 100]

    ... bench/browse.py --label-studio ../peer-bench-work/ls-venv   # and Label Studio beside it

Targets (issue 25): first page p95 <= 50 ms, facets <= 150 ms, text search <= 100 ms, a bulk
action over 10,000 rows <= 5 s. With --label-studio (a venv holding label-studio, as
../shared/tools/peer-bench's `setup` makes one), the same derivations go into Label Studio
(bench/label_studio_list.py) and the first page of comparable views is read from both over
HTTP (our API, its Data Manager's task list), alternately, and the ratio printed."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import label_studio_list as ls  # bench/label_studio_list.py (before seed drops this folder from sys.path)
import seed as seeding  # bench/seed.py (it keeps this folder off sys.path for the stdlib's queue)
import httpx
from sqlalchemy import create_engine, text

from app.db import transaction
from tests.helpers import free_port, served  # importable: seed put the checkout on sys.path
from app.repositories import browse as repo
from app.repositories import rollups
from app.services import browse, trash

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


def timed(sessions, fn, reads: int) -> tuple[float, float, float, object]:
    """The first read (cold: its pages not yet in PostgreSQL's buffers), then the median and
    p95 of `reads` more (with 20 reads a "p95" was the slowest one, the first read)."""
    seconds, out = [], None
    for _ in range(reads + 1):
        with transaction(sessions) as session:
            t = time.perf_counter()
            out = fn(session)
            seconds.append(time.perf_counter() - t)
    first, seconds = seconds[0], seconds[1:]
    return first * 1000, statistics.median(seconds) * 1000, _p95(seconds) * 1000, out


@contextmanager
def our_api(url: str, sessions):
    """`derivlab serve` (2 web processes, no worker) on the bench's database; yields an API client."""
    from app.models import Role
    from app.services import auth, tokens

    with transaction(sessions) as session:
        admin = auth.create_user(session, username="bench-admin", password="bench-Admin-pw1", role=Role.admin)
        _, token = tokens.create(session, user=admin, name="bench")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-0123456789"}
    with served(env, web_processes=2) as (_, base):
        yield httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"})


def beside_label_studio(venv: Path, url: str, sessions, pid: int, reads: int) -> None:
    with transaction(sessions) as session:
        rollups.refresh(session)
        tasks = ls.tasks_from(session, pid)
    server = seeding.make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with our_api(url, sessions) as ours, ls.running(venv, server, free_port()) as client:
        theirs = ls.TaskList(client, tasks)
        print(f"Label Studio 1.23 on PostgreSQL: {len(tasks):,} tasks imported in {theirs.import_s:.0f} s")
        print(f"first page of 50 over HTTP, {reads} reads each, alternating (median / p95 ms; ratio: Label Studio's "
              "median over ours)")
        for name in ls.VIEWS:
            params = {**VIEWS[name], "limit": 50}
            mine, its = [], []
            for i in range(reads + 2):  # two warm-ups each
                t = time.perf_counter()
                response = ours.get(f"/api/v1/projects/{pid}/derivations", params=params)
                ms = (time.perf_counter() - t) * 1000
                assert response.status_code == 200, response.text[:300]
                total = int(response.headers["X-Total-Count"])
                ls_ms, ls_total = theirs.first_page(name)
                if i >= 2:
                    mine.append(ms)
                    its.append(ls_ms)
            print(f"  {name:42} ours {statistics.median(mine):7.1f} / {_p95([m / 1000 for m in mine]) * 1000:7.1f}"
                  f"  Label Studio {statistics.median(its):8.1f} / {_p95([m / 1000 for m in its]) * 1000:8.1f}"
                  f"  ratio {statistics.median(its) / statistics.median(mine):6.1f}x  (match: {total:,} / {ls_total:,})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--derivations", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--label-studio", type=Path, help="a venv holding label-studio: measure its task list beside ours")
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

        print(f"first page of 50 (server time, a first read then {args.reads} more each; target p95 <= 50 ms)")
        for name, params in VIEWS.items():
            first, median, p95, (ids, total) = timed(sessions, first_page(params), args.reads)
            print(f"  {name:42} median {median:7.1f} ms  p95 {p95:7.1f} ms  first read {first:7.1f} ms  "
                  f"({total:,} match)")

        def facets(session):
            view = browse.parse(session, project_id=pid, params={"model": "fake-model-2"})
            return repo.facets(session, view.filters)
        first, median, p95, _ = timed(sessions, facets, max(3, args.reads // 4))
        print(f"facet counts (model, perturbation, state; target <= 150 ms): median {median:.1f} ms, p95 {p95:.1f} ms, "
              f"first read {first:.1f} ms")

        first, median, p95, (_, total) = timed(sessions, first_page(SEARCH), args.reads)
        print(f"text search '{SEARCH['q']}' (target <= 100 ms): median {median:.1f} ms, p95 {p95:.1f} ms, "
              f"first read {first:.1f} ms ({total} match)")

        def page_rows(session):
            view = browse.parse(session, project_id=pid, params={})
            return repo.rows(session, repo.page(session, view.filters, sort="id", descending=False, limit=50,
                                                offset=0)[0])
        _, median, p95, _ = timed(sessions, page_rows, args.reads)
        print(f"a page's columns (labels, SymPy, state of 50 rows): median {median:.1f} ms, p95 {p95:.1f} ms")

        bulk = {"model": "fake-model-3"}
        with transaction(sessions) as session:
            view = browse.parse(session, project_id=pid, params=bulk)
            ticked = browse.ids(session, view, chosen=None)[:10_000]
            actor = session.execute(text("SELECT id FROM users ORDER BY id LIMIT 1")).scalar()
        print(f"bulk actions on {len(ticked):,} ticked derivations (target <= 5 s each):")

        def bulk_action(name, act):  # timed to the commit, as the page waits for it
            t = time.perf_counter()
            with transaction(sessions) as session:
                view = browse.parse(session, project_id=pid, params=bulk)
                out = act(session, browse.ids(session, view, chosen=list(ticked)))
            print(f"  {name:34} {time.perf_counter() - t:6.2f} s")
            return out
        bulk_action("re-check with SymPy", browse.recheck)
        bulk_action("put in the sample", lambda s, ids: browse.sample(s, project_id=pid, derivation_ids=ids, add=True))
        entry = bulk_action("delete (to the trash)", lambda s, ids: trash.delete(
            s, project_id=pid, derivation_ids=ids, actor_id=actor, confirm="delete"))
        t = time.perf_counter()
        with transaction(sessions) as session:
            trash.restore(session, project_id=pid, trash_id=entry)
        print(f"  {'undo the delete (restore)':34} {time.perf_counter() - t:6.2f} s")
        bulk_action("reset annotations", lambda s, ids: browse.reset(s, derivation_ids=ids, actor_id=actor,
                                                                     confirm="reset"))
        # last: Label Studio's 100,000 tasks leave PostgreSQL checkpointing for a while, which
        # slowed the bulk actions' writes 2-10x when they came after it
        if args.label_studio:
            beside_label_studio(args.label_studio, url, sessions, pid, args.reads)

if __name__ == "__main__":
    main()
