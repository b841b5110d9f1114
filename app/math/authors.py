"""The authors' own engine corpus as the checker's test.

`../shared/data/authors_engine_a.jsonl` holds derivations made by the paper's own
generator (sympy 1.5.1), printed exactly as the released files print them, with the
srepr and the operation of every step. Each is correct by construction, and each
step's annotation says which earlier equations it was made from, so:
- any "incorrect" on a step is a false one;
- "irrelevant" on a step that a later step cites is a false one;
- "skipped" on a step (every step is one operation) is a false one;
- every equation must parse back to its srepr ("faithful").

Perturbations as the paper made them: VR renames every symbol and function to one the
derivation does not use (the renamed srepr printed again), EE swaps the sides of every
equation. Renderings as models write the text: the paper's (as released), GPT's
(a leading space), FLAN-T5's (tokenizer spacing, the first backslash lost).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sympy
from sympy import Eq
from sympy.core.function import AppliedUndef

from app.math.checker import check_derivation, problem_variables
from app.math.corpus import render
from app.math.engine import to_latex
from app.math.latex import parsed_sides
from app.math.limits import CHECK_TIMEOUT, PARSE_TIMEOUT
from app.math.latex import canonical_names
from app.math.sandbox import Sandbox, default_sandbox
from app.math.srepr import read_srepr

PREMISE_KINDS = ("premise", "get_premise", "renaming_premise")
VARIANTS = ("static", "VR", "EE")
STYLES = ("paper", "gpt", "t5")
# names no record uses (checked when renaming): what VR renames to
UNSEEN = ["\\mathcal{Q}", "\\varsigma", "W_{9}", "\\hat{\\mu}", "Z_{k}", "\\breve{b}", "\\mathfrak{u}", "Y_{7}",
          "\\check{n}", "\\tilde{\\omega}", "V_{q}", "\\grave{s}", "X_{8}", "\\bar{\\nu}", "U_{4}", "\\acute{e}"]

def default_path() -> Path:
    """The corpus beside the project (../shared/data), or DERIVLAB_AUTHORS_CORPUS."""
    env = os.environ.get("DERIVLAB_AUTHORS_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "authors_engine_a.jsonl"

@dataclass
class Reference:
    id: str
    latex: list[str]  # released style: exactly as the paper's files print it
    srepr: list[str]
    operations: list[str]  # "premise" or the operation's name
    cites: list[list[int]]  # per step, the 1-based equations it was made from

    @property
    def premises(self) -> list[int]:
        return [k for k, op in enumerate(self.operations) if op in PREMISE_KINDS]

    @property
    def cited(self) -> set[int]:
        """1-based indices of equations that some later step was made from."""
        return {j for c in self.cites for j in c}

def _released_style(latex: str) -> str:
    return latex.replace("\\, d", " d")

def load(path: Path | None = None, *, limit: int | None = None, every: int = 1) -> list[Reference]:
    """Records of the corpus; `every` takes one record in that many (a slice spread over the file)."""
    out = []
    with open(path or default_path(), encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n % every:
                continue
            record = json.loads(line)
            annotations = record["annotations_latex"]
            operations, cites = [], []
            for a in annotations:
                if isinstance(a, str):
                    operations.append("premise" if a in PREMISE_KINDS else a)
                    cites.append([])
                else:
                    operations.append(a[0])
                    # substitutions cite two equations; the others one (then a symbol or expression)
                    cites.append([x for x in a[1:] if isinstance(x, int)])
            out.append(Reference(id=record["id"], latex=[_released_style(x) for x in record["derivation_latex"]],
                                 srepr=[s for _, s in record["srepr_derivation"]], operations=operations,
                                 cites=cites))
            if limit and len(out) >= limit:
                break
    return out

def equations(ref: Reference) -> list[Eq]:
    return [read_srepr(s) for s in ref.srepr]

def _names(eqs: Iterable[Eq]) -> set[str]:
    names = set()
    for eq in eqs:
        names |= {s.name for s in eq.free_symbols}
        names |= {f.func.__name__ for f in eq.atoms(AppliedUndef)}
    return names

def renamed(ref: Reference) -> list[str]:
    """VR: every symbol and function renamed to an unseen one, printed again as the paper's
    printer does (SymPy's LaTeX with `\\left`/`\\right` removed)."""
    eqs = equations(ref)
    used = _names(eqs)
    fresh = iter(n for n in UNSEEN if n not in used)
    mapping_s, mapping_f = {}, {}
    for eq in eqs:
        # a function an integral is taken with respect to (`d L{(A_y)}`) is among SymPy's free
        # symbols: it is renamed as a function, below, not turned into a symbol
        for s in sorted((s for s in eq.free_symbols if isinstance(s, sympy.Symbol)), key=str):
            if s.name not in mapping_s:
                mapping_s[s.name] = next(fresh)
        for f in sorted(eq.atoms(AppliedUndef), key=str):
            if f.func.__name__ not in mapping_f:
                mapping_f[f.func.__name__] = next(fresh)
    out = []
    for eq in eqs:
        new = eq.xreplace({s: sympy.Symbol(mapping_s[s.name]) for s in eq.free_symbols if isinstance(s, sympy.Symbol)})
        new = new.replace(lambda e: isinstance(e, AppliedUndef),
                          lambda e: sympy.Function(mapping_f.get(e.func.__name__, e.func.__name__))(*e.args))
        out.append(_released_style(to_latex(Eq(new.lhs, new.rhs, evaluate=False))))
    return out

def swapped(latex: list[str]) -> list[str]:
    """EE: the sides of every equation exchanged."""
    out = []
    for eq in latex:
        sides = eq.split(" = ")
        if len(sides) != 2:
            raise ValueError(f"not one ' = ' in {eq!r}")
        out.append(f"{sides[1]} = {sides[0]}")
    return out

def variant(ref: Reference, name: str) -> list[str]:
    if name == "static":
        return list(ref.latex)
    if name == "VR":
        return renamed(ref)
    if name == "EE":
        return swapped(ref.latex)
    raise ValueError(f"unknown variant {name}")

@dataclass
class Report:
    derivations: int = 0
    steps: int = 0
    false_incorrect: list[str] = field(default_factory=list)
    false_skipped: list[str] = field(default_factory=list)
    false_irrelevant: list[str] = field(default_factory=list)
    unknown_incorrect: int = 0
    timeouts: list[str] = field(default_factory=list)
    parsed: dict[str, list[int]] = field(default_factory=dict)  # style -> [parsed, total]
    faithful: list[int] = field(default_factory=lambda: [0, 0])
    unfaithful: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    derivations_with_false_incorrect: set = field(default_factory=set)

    def percentile(self, q: float) -> float:
        xs = sorted(self.seconds)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0

# Long because it is a benchmark's loop: the items built, checked and tallied in one pass
# over the sandbox's answers.
def evaluate(refs: list[Reference], *, variants: tuple[str, ...] = VARIANTS, styles: tuple[str, ...] = STYLES,
             sandbox: Sandbox | None = None, progress: Callable[[int], None] | None = None) -> Report:
    """Check every reference in every variant and rendering; parse every equation."""
    sandbox = sandbox or default_sandbox()
    report = Report()
    items = []
    for ref in refs:
        for v in variants:
            latex = variant(ref, v)
            for style in styles:
                items.append((ref, v, style, latex, render(latex, style)))

    def check(item):
        ref, v, style, latex, steps = item
        started = time.perf_counter()
        # premises and goal come from the prompt: the printer's text
        premises = [latex[k] for k in ref.premises]
        outcome = sandbox.call(check_derivation, premises, latex[-1], steps, timeout=CHECK_TIMEOUT)
        return item, outcome, time.perf_counter() - started

    def parse(item):
        ref, k = item
        # as the checker reads it: with the names the problem's premises use as variables
        variables = problem_variables([ref.latex[p] for p in ref.premises])
        return item, sandbox.call(parsed_sides, ref.latex[k], variables, timeout=PARSE_TIMEOUT)

    with ThreadPoolExecutor(max_workers=sandbox.size) as pool:
        for (ref, v, style, latex, steps), outcome, seconds in pool.map(check, items):
            report.derivations += 1
            report.seconds.append(seconds)
            rate = report.parsed.setdefault(style, [0, 0])
            if not outcome.ok:
                report.timeouts.append(f"{ref.id} {v} {style}: {outcome.error}")
                rate[1] += len(steps)
                continue
            cited = ref.cited
            for step in outcome.value.steps:
                report.steps += 1
                rate[0] += step.parsed
                rate[1] += 1
                where = f"{ref.id} {v} {style} step {step.index} ({ref.operations[step.index - 1]}): " \
                        f"{steps[step.index - 1]}"
                incorrect = step.verdicts["incorrect"]
                if incorrect.value == "yes":
                    report.false_incorrect.append(f"{where} -- {incorrect.reason}")
                    report.derivations_with_false_incorrect.add((ref.id, v, style))
                elif incorrect.value == "unknown":
                    report.unknown_incorrect += 1
                if step.verdicts["skipped"].value == "yes" and ref.operations[step.index - 1] != "premise":
                    report.false_skipped.append(where)
                if step.verdicts["irrelevant"].value == "yes" and step.index in cited:
                    report.false_irrelevant.append(where)
            if progress:
                progress(1)
        eqs = [(ref, k) for ref in refs for k in range(len(ref.latex))]
        for (ref, k), outcome in pool.map(parse, eqs):
            report.faithful[1] += 1
            expected = canonical_names(read_srepr(ref.srepr[k]))
            if outcome.ok and canonical_names(Eq(*outcome.value, evaluate=False)) == expected:
                report.faithful[0] += 1
            else:
                report.unfaithful.append(f"{ref.id} eq {k + 1}: {ref.latex[k]} -> "
                                         f"{outcome.value if outcome.ok else outcome.error}")
    return report
