"""How soon `serve --web-processes 2` replaces a web process killed with SIGKILL: the time from
the kill until its slot has a new process (a child of serve's with a command line, the killed
one gone), over many kills, each after a burst of 40 kept-alive connections.

    DATABASE_URL=... .venv/bin/python bench/web_restart.py [--kills 30]

2026-12-07, 30 kills each, the two loops one after the other: uvicorn's own (sleeping 0.5 s
on an Event, pinging a process with a 5 s health check) median 0.41 s, max 5.05 s (2 of 30
over 2 s) on a quiet machine, 0.30 / 0.59 s with the test suite running beside it;
app/cli/listeners.py's, woken by a process's end, 0.10 / 0.11 s and 0.04 / 0.04 s."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import time

import seed as seeding  # bench/seed.py (puts the checkout on sys.path)

from tests.helpers import served, web_processes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=30)
    args = parser.parse_args()
    seconds = []
    with seeding.scratch_database("bench_restart") as (url, _), \
            served({**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret-0123456789"},
                   web_processes=2) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        for _ in range(args.kills):
            while len(web := web_processes(proc.pid)) < 2:
                time.sleep(0.05)
            burst = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
            for sock in burst:
                sock.sendall(b"GET /login HTTP/1.1\r\nHost: bench\r\n\r\n")
            for sock in burst:
                sock.recv(64)
            t = time.perf_counter()
            os.kill(web[0], signal.SIGKILL)
            while time.perf_counter() - t < 60:
                now = web_processes(proc.pid)
                if len(now) == 2 and web[0] not in now:
                    break
                time.sleep(0.01)
            seconds.append(time.perf_counter() - t)
            for sock in burst:
                sock.close()
    seconds.sort()
    print(f"{len(seconds)} kills: slot back in median {statistics.median(seconds):.2f} s, "
          f"max {seconds[-1]:.2f} s, {sum(s > 2 for s in seconds)} over 2 s")


if __name__ == "__main__":
    main()
