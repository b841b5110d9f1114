"""Precision and recall of the checker's suggestions against known labels (mutants)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.math.checker import LABELS, YES, check_derivation
from app.math.limits import CHECK_TIMEOUT
from app.math.mutants import Mutant, mutants
from app.math.sandbox import Sandbox, default_sandbox



@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    unknown: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Report:
    scores: dict[str, Score] = field(default_factory=lambda: {label: Score() for label in (*LABELS, "goal_reached")})
    false_incorrect_on_references: int = 0
    references: int = 0
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)  # the checker failed (not out of time)
    seconds: list[float] = field(default_factory=list)


def evaluate(count: int, seed: int, *, sandbox: Sandbox | None = None,
             progress: Callable[[int], None] | None = None) -> Report:
    import time

    sandbox = sandbox or default_sandbox()
    items = mutants(count, seed)
    report = Report()

    def run(m: Mutant):
        started = time.perf_counter()
        outcome = sandbox.call(check_derivation, m.premises, m.goal, m.steps, timeout=CHECK_TIMEOUT)
        return m, outcome, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=sandbox.size) as pool:
        for m, outcome, seconds in pool.map(run, items):
            report.seconds.append(seconds)
            if progress:
                progress(1)
            if not outcome.ok:
                if outcome.timed_out:
                    report.timeouts += 1
                else:
                    report.errors.append(outcome.error)
                continue
            result = outcome.value
            if m.kind == "none":
                report.references += 1
                if any(s.verdicts["incorrect"].value == YES for s in result.steps):
                    report.false_incorrect_on_references += 1
            for step in result.steps:
                truth = m.labels.get(step.index, set())
                for label in LABELS:
                    verdict = step.verdicts[label].value
                    score = report.scores[label]
                    if verdict == "unknown":
                        score.unknown += 1
                        if label in truth:
                            score.fn += 1
                    elif verdict == YES:
                        score.tp += label in truth
                        score.fp += label not in truth
                    elif label in truth:
                        score.fn += 1
            goal = report.scores["goal_reached"]
            said = result.goal_reached.value
            if said == "unknown":
                goal.unknown += 1
            elif said == YES:
                goal.tp += m.goal_reached
                goal.fp += not m.goal_reached
            elif m.goal_reached:
                goal.fn += 1
    return report
