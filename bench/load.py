"""50 annotators at once against a real server on loopback: each logs in, then loops
Next -> open the derivation -> tag two steps -> submit, with a think time between actions,
for two minutes, against a project of 100,000 derivations. Prints p50/p99 per endpoint
(client round trip, and the server's own time) and the errors. Target (issue 7): p99 < 100 ms,
0 errors.

    .venv/bin/python bench/load.py [--annotators 50] [--seconds 120] [--derivations 100000] [--think 1.0]
                                   [--web-processes 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncio  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.seed import scratch_database, seed  # noqa: E402
from app.db import transaction  # noqa: E402
from app.services.auth import hash_password  # noqa: E402
from tests.helpers import served  # noqa: E402

PASSWORD = "load password 1"
LABELS = ("incorrect", "irrelevant", "redundant", "skipped")


class Recorder:
    """Round trips (client side, including this process's own scheduling) and the server's
    own time per request (its Server-Timing header)."""

    def __init__(self):
        self.times: dict[str, list[float]] = defaultdict(list)
        self.server: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()

    async def timed(self, endpoint: str, call, ok: tuple[int, ...]):
        started = time.perf_counter()
        try:
            response = await call
        except httpx.HTTPError as exc:
            self.errors[f"{endpoint}: {type(exc).__name__}"] += 1
            return None
        self.times[endpoint].append((time.perf_counter() - started) * 1000)
        timing = re.search(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
        if timing:
            self.server[endpoint].append(float(timing.group(1)))
        if response.status_code not in ok:
            self.errors[f"{endpoint}: HTTP {response.status_code}"] += 1
            return None
        return response


async def annotator(base: str, name: str, project_id: int, seconds: float, think: float, rec: Recorder,
                    rng: random.Random, ready: asyncio.Barrier) -> int:
    done = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        await client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
        token = re.search(r'name="csrf-token" content="([^"]+)"', (await client.get("/")).text).group(1)
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        await ready.wait()  # logins (argon2: CPU-heavy by design) are done before the clock starts
        deadline = time.monotonic() + seconds

        async def pause():
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)

        await asyncio.sleep(rng.uniform(0, think))  # not all at the same instant
        while time.monotonic() < deadline:
            # Next answers an htmx request with 204 and HX-Redirect (a plain form post: 303 and Location);
            # the address carries the derivation's reference (app.web.refs), which the routes take back
            nxt = await rec.timed("next", client.post(f"/projects/{project_id}/next", headers=headers), (204, 303))
            if nxt is None:
                await pause()
                continue
            url = nxt.headers.get("HX-Redirect") or nxt.headers["location"]
            if not url.startswith("/derivations/"):  # nothing left for this annotator
                await pause()
                continue
            derivation = int(url.rsplit("/", 1)[1])
            page = await rec.timed("annotate page", client.get(url), (200,))
            if page is None:
                continue
            version = re.search(r'data-version="(\d+)"', page.text)
            steps = [int(s) for s in re.findall(r'data-step-id="(\d+)"', page.text)]
            tab = {"X-Annotation-Version": version.group(1), "X-Tab": name} if version else {}
            for step in rng.sample(steps, min(2, len(steps))):
                await pause()
                await rec.timed("label", client.post(
                    f"/derivations/{derivation}/steps/{step}/labels/{rng.choice(LABELS)}?on=true",
                    headers={**headers, **tab}), (200,))
            await pause()
            if await rec.timed("submit", client.post(f"/derivations/{derivation}/submit", headers={**headers, **tab},
                                                     data={"goal_reached": "yes", "comment": ""}), (204,)):
                done += 1
    return done


async def run_load(base: str, project_id: int, annotators: int, seconds: float, think: float) -> tuple[Recorder, int]:
    rec = Recorder()
    ready = asyncio.Barrier(annotators)
    done = await asyncio.gather(*(annotator(base, f"load{n}", project_id, seconds, think, rec, random.Random(n), ready)
                                  for n in range(annotators)))
    return rec, sum(done)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="concurrent annotators against a real server")
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--derivations", type=int, default=100_000)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between an annotator's actions")
    parser.add_argument("--web-processes", type=int, default=2, help="server processes (one per core here)")
    args = parser.parse_args()
    with scratch_database("bench_load") as (url, sessions):
        started = time.perf_counter()
        project_id = seed(sessions, project="load", labels=0, derivations=args.derivations, annotate=False)
        with transaction(sessions) as session:
            session.execute(text("INSERT INTO users (username, password_hash, role) "
                                 "SELECT 'load' || g, :hash, 'annotator' FROM generate_series(0, :n - 1) g"),
                            {"hash": hash_password(PASSWORD), "n": args.annotators})
        print(f"seeded {args.derivations:,} derivations and {args.annotators} annotators "
              f"in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(ROOT / "var" / "bench")}
        with served(env, web_processes=args.web_processes) as (_, base):
            rec, done = asyncio.run(run_load(base, project_id, args.annotators, args.seconds, args.think))
        with transaction(sessions) as session:
            stored = session.execute(text("SELECT count(*) FROM annotations WHERE status = 'submitted'")).scalar_one()
    requests = sum(len(v) for v in rec.times.values())
    print(f"{args.annotators} annotators, {args.seconds:.0f} s, think time ~{args.think:g} s, "
          f"{args.web_processes} server process(es): {requests:,} requests "
          f"({requests / args.seconds:.0f}/s), {done:,} derivations submitted ({stored:,} stored)")
    print(f"{'endpoint':16s} {'requests':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} {'p99/100ms':>10s} "
          f"{'server p50':>11s} {'server p99':>11s}")
    for endpoint in ("next", "annotate page", "label", "submit"):
        values, server = rec.times.get(endpoint, []), rec.server.get(endpoint, [])
        if values:
            print(f"{endpoint:16s} {len(values):9,d} {pct(values, 50):8.1f} {pct(values, 99):8.1f} "
                  f"{max(values):8.1f} {pct(values, 99) / 100:10.2f} {pct(server, 50):11.1f} {pct(server, 99):11.1f}")
    print(f"errors: {sum(rec.errors.values())}" + (f" {dict(rec.errors)}" if rec.errors else ""))


if __name__ == "__main__":
    main()
