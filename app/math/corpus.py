"""The engine as a held-out set for the checker: references nobody tuned a rule to.

Every family (static, VR, EE, AG, SR) of `count` engine problems is rendered the way
the paper's files are (SymPy's printer, `to_latex`) and the way models write the
same text: GPT with a leading space, FLAN-T5 with its tokenizer's spacing and the
first command's backslash lost. Each reference is a correct derivation, so any
"incorrect" the checker says on it is a false one; each reference equation must
also parse back to the engine's own equation ("faithful").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sympy import Eq

from app.math.checker import check_derivation
from app.math.engine import Problem, generate, prompt_text, to_latex
from app.math.latex import parsed_sides
from app.math.limits import CHECK_TIMEOUT, PARSE_TIMEOUT
from app.math.latex import canonical_names
from app.math.sandbox import Sandbox, default_sandbox

STYLES = ("paper", "gpt", "t5")


def t5_spacing(latex: str) -> str:
    """`\\frac{d}{d a} \\eta{(a)}` as FLAN-T5 writes it: `\\ frac { d } { d a } \\ eta { (a) }`."""
    text = re.sub(r"\\([A-Za-z]+)", r"\\ \1", latex)
    text = text.replace("{", " { ").replace("}", " } ").replace("^", " ^ ")
    return re.sub(r"\s+", " ", text).strip()


def render(steps: list[str], style: str) -> list[str]:
    """A reference's steps as a model of that style writes them."""
    if style == "paper":
        return list(steps)
    if style == "gpt":
        return [" " + steps[0], *steps[1:]]
    if style == "t5":
        spaced = [t5_spacing(s) for s in steps]
        spaced[0] = re.sub(r"^\\ ", "", spaced[0])  # T5 drops the first command's backslash
        return spaced
    raise ValueError(f"unknown style {style}")


@dataclass
class Report:
    derivations: int = 0
    steps: int = 0
    false_incorrect: list[str] = field(default_factory=list)  # "style variant: latex (reason)"
    skipped_yes: list[str] = field(default_factory=list)
    irrelevant_yes: list[str] = field(default_factory=list)  # every engine step is used by the next: all false
    unknown_incorrect: int = 0
    timeouts: list[str] = field(default_factory=list)
    parsed: dict[str, list[int]] = field(default_factory=dict)  # style -> [parsed, total]
    faithful: list[int] = field(default_factory=lambda: [0, 0])  # paper style: [equal to the engine's, total]
    unfaithful: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        xs = sorted(self.seconds)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def problems(count: int, seed: int) -> list[Problem]:
    return [p for family in generate(count, seed) for p in family]


def evaluate_references(count: int, seed: int, *, styles: tuple[str, ...] = STYLES, sandbox: Sandbox | None = None,
                        progress: Callable[[int], None] | None = None) -> Report:
    """Check every reference of `count` engine families in every style; parse every equation."""
    sandbox = sandbox or default_sandbox()
    report = Report()
    items = []
    drawn = problems(count, seed)
    for problem in drawn:
        latex = [to_latex(eq) for eq in problem.equations]
        for style in styles:
            items.append((problem, style, latex, render(latex, style)))

    def check(item):
        problem, style, latex, steps = item
        started = time.perf_counter()
        # premises and goal come from the prompt, which is always SymPy's printing
        outcome = sandbox.call(check_derivation, [latex[0]], latex[-1], steps, timeout=CHECK_TIMEOUT)
        return item, outcome, time.perf_counter() - started

    def parse(item):
        eq, latex = item
        return item, sandbox.call(parsed_sides, latex, timeout=PARSE_TIMEOUT)

    with ThreadPoolExecutor(max_workers=sandbox.size) as pool:
        for (problem, style, latex, steps), outcome, seconds in pool.map(check, items):
            report.derivations += 1
            report.seconds.append(seconds)
            rate = report.parsed.setdefault(style, [0, 0])
            if not outcome.ok:
                report.timeouts.append(f"{style} {problem.variant}: {outcome.error}")
                rate[1] += len(steps)
                continue
            for step in outcome.value.steps:
                report.steps += 1
                rate[0] += step.parsed
                rate[1] += 1
                where = f"{style} {problem.variant} step {step.index}: {steps[step.index - 1]}"
                incorrect = step.verdicts["incorrect"]
                if incorrect.value == "yes":
                    report.false_incorrect.append(f"{where} ({incorrect.reason})")
                elif incorrect.value == "unknown":
                    report.unknown_incorrect += 1
                if step.verdicts["skipped"].value == "yes":
                    report.skipped_yes.append(where)
                if step.verdicts["irrelevant"].value == "yes":
                    report.irrelevant_yes.append(where)
            if progress:
                progress(1)
        equations = [(eq, to_latex(eq)) for p in drawn for eq in p.equations]
        for (eq, latex), outcome in pool.map(parse, equations):
            report.faithful[1] += 1
            if outcome.ok and canonical_names(Eq(*outcome.value, evaluate=False)) == canonical_names(eq):
                report.faithful[0] += 1
            else:
                report.unfaithful.append(f"{latex}: {outcome.value if outcome.ok else outcome.error}")
    return report


def import_file_lines(count: int, seed: int, copies: int = 1) -> list[dict]:
    """An import file (JSONL records) of engine derivations: `count` families in every
    perturbation, `copies` times under new problem ids, each copy "written" by a model of
    another style (the reference rendered as that model writes). `count` × 5 × `copies`
    derivations, each its own problem/perturbation pair: a large file from a small corpus."""
    rendered = [[(problem.variant, prompt_text(problem), [to_latex(eq) for eq in problem.equations])
                 for problem in family] for family in generate(count, seed)]
    lines = []
    for copy in range(copies):
        style = STYLES[copy % len(STYLES)]
        for n, family in enumerate(rendered, start=1):
            for variant, prompt, latex in family:
                lines.append({"problem_id": f"engine-{seed}-{n}-copy{copy}", "perturbation": variant,
                              "prompt": prompt, "model": f"engine-{style}",
                              "derivation": " and ".join(render(latex, style)), "reference": " and ".join(latex)})
    return lines
