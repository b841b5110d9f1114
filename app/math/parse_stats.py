"""How well the parser reads a file of the paper's results: per model, the share
of output equations that parse, and the share of reference equations that parse
*faithfully* (equal to the SymPy form of the srepr step the file carries)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sympy import Eq

from app.math.latex import parsed_sides, split_steps
from app.math.limits import PARSE_TIMEOUT
from app.math.latex import canonical_names
from app.math.sandbox import Sandbox, default_sandbox
from app.math.srepr import SreprError, read_srepr
from app.math.paper import OUTPUT_KEY, VARIANTS



@dataclass
class Rate:
    ok: int = 0
    total: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.ok / self.total if self.total else 1.0


@dataclass
class FileStats:
    parsed: dict[str, Rate]  # per model
    faithful: Rate  # references


def _parse_ok(latex: str, sandbox: Sandbox) -> tuple[bool, object]:
    outcome = sandbox.call(parsed_sides, latex, timeout=PARSE_TIMEOUT)
    return outcome.ok, Eq(*outcome.value, evaluate=False) if outcome.ok else outcome.error


def file_stats(path: Path, sandbox: Sandbox | None = None) -> FileStats:
    sandbox = sandbox or default_sandbox()
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    outputs: list[tuple[str, str]] = []  # (model, equation)
    references: list[tuple[str, str]] = []  # (latex, srepr)
    for record in records:
        for key, value in record.items():
            m = OUTPUT_KEY.match(key)
            if m and isinstance(value, str):
                outputs += [(m.group(2), eq) for eq in split_steps(value)]
        for variant in VARIANTS:
            prefix = "" if variant == "static" else f"{variant} "
            steps, srepr = record.get(f"{prefix}derivation"), record.get(f"{prefix}srepr_derivation")
            if isinstance(steps, str) and isinstance(srepr, list):
                references += [(latex, step[1]) for latex, step in zip(split_steps(steps), srepr)]

    with ThreadPoolExecutor(max_workers=sandbox.size) as pool:
        parsed_outputs = list(pool.map(lambda item: _parse_ok(item[1], sandbox), outputs))
        parsed_refs = list(pool.map(lambda item: _parse_ok(item[0], sandbox), references))

    per_model: dict[str, Rate] = {}
    for (model, latex), (ok, detail) in zip(outputs, parsed_outputs):
        rate = per_model.setdefault(model, Rate())
        rate.total += 1
        rate.ok += ok
        if not ok:
            rate.failures.append(f"{latex!r}: {detail}")
    faithful = Rate()
    for (latex, srepr), (ok, value) in zip(references, parsed_refs):
        faithful.total += 1
        try:
            expected = canonical_names(read_srepr(srepr))
        except SreprError as exc:
            faithful.failures.append(f"{latex!r}: reference srepr unreadable ({exc})")
            continue
        if ok and canonical_names(value) == expected:
            faithful.ok += 1
        else:
            faithful.failures.append(f"{latex!r}: parsed {value} but the reference is {expected}")
    return FileStats(parsed=per_model, faithful=faithful)
