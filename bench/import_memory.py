"""Peak memory of reading an upload (issue 24, item 10), as the web process sees it: maximum RSS
of a fresh process that reads one file, minus its RSS before, against the file's size.

    .venv/bin/python bench/import_memory.py [--mb 49]

Files: 49 MB of `{}` objects in a field nobody reads, in one JSONL record and spread over
records (under the 100,000-per-record limit); the same in the paper's format; the authors'
paper sample as it is."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RECORD = {"problem_id": "p", "prompt": "Given a = b, then obtain b = a", "model": "m", "derivation": "b = a"}


def _junk(n: int) -> str:
    return '"junk": [' + ",".join(["{}"] * n) + "]"


def files(mb: int) -> dict[str, tuple[str, bytes]]:
    n = mb * 2**20 // 3
    one = json.dumps(RECORD)[:-1] + ", " + _junk(n) + "}\n"
    per = 90_000
    spread = "".join(json.dumps(dict(RECORD, problem_id=f"p{i}"))[:-1] + ", " + _junk(per) + "}\n"
                     for i in range(n // per))
    doc = json.loads((SHARED / "paper_sample_gpt-4.json").read_bytes())
    copies = [{k: (v + f" ({c})" if k.endswith("prompt") else v) for k, v in r.items()} | {"junk": []}
              for c in range(max(1, n // per // len(doc))) for r in doc]
    paper = json.dumps(copies).replace('"junk": []', _junk(per))
    return {"jsonl, one record": ("one.jsonl", one.encode()), "jsonl, spread": ("spread.jsonl", spread.encode()),
            "paper, spread": ("spread.json", paper.encode()),
            "paper sample": ("paper_sample_gpt-4.json", (SHARED / "paper_sample_gpt-4.json").read_bytes())}


def _read(name: str, data: bytes, out) -> None:
    from app.errors import InvalidInput
    from app.services.file_formats import read_records

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    try:
        fmt, records = read_records(name, data)
        what = f"{len(records)} records"
    except InvalidInput as exc:
        what = "refused: " + (exc.details[0] if exc.details else exc.message)[:90]
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    out.send((what, grown, time.perf_counter() - t))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=49)
    args = parser.parse_args()
    ctx = mp.get_context("fork")  # the child starts with the file in memory, as the web process has it
    for label, (name, data) in files(args.mb).items():
        receiving, sending = ctx.Pipe(duplex=False)  # (no Queue: bench/queue.py shadows the stdlib's)
        child = ctx.Process(target=_read, args=(name, data, sending))
        child.start()
        what, grown, seconds = receiving.recv()
        child.join()
        print(f"{label:18} {len(data) / 2**20:6.1f} MiB  peak +{grown / 2**20:7.1f} MiB "
              f"({grown / len(data):4.2f}x the file)  {seconds:5.1f} s  {what}")


if __name__ == "__main__":
    main()
