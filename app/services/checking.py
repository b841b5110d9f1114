"""Run the SymPy pre-annotation over a project and store the suggestions.

Each derivation is checked in a sandbox worker under a hard time limit and saved
in its own transaction, so an interrupted run keeps what it finished and a
re-run replaces, never duplicates. The worker's check jobs use the same code."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.errors import NotFound
from app.math.checker import DerivationCheck
from app.math.limits import CHECK_TIMEOUT
from app.math.proposals import check_and_propose
from app.math.sandbox import Sandbox, default_sandbox
from app import jobs
from app.repositories import checks as checks_repo
from app.repositories import derivations as derivations_repo
from app.repositories import jobs as jobs_repo
from app.repositories import projects as projects_repo



@dataclass
class RunStats:
    derivations: int = 0
    timeouts: int = 0
    seconds: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        xs = sorted(self.seconds)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


@dataclass
class Checked:
    derivation_id: int
    rows: list[dict]  # suggestions (auto_checks)
    parse: dict[int, tuple[str, str | None]]  # step index -> (parse status, canonical srepr)
    proposals: list[dict]  # step_proposals rows
    seconds: float
    timed_out: bool
    metrics: dict | None = None  # sym_recall, sym_precision, sym_goal (None: no reference to score against)


def _proposals(result: DerivationCheck) -> list[dict]:
    return [{"step_index": p.index, "latex": p.latex, "operation": p.operation, "source": p.source,
             "from_reference": p.from_reference} for p in result.proposals]


def _rows(result: DerivationCheck) -> tuple[list[dict], dict[int, tuple[str, str | None]]]:
    rows = [{"step_index": 0, "label": "goal_reached", "verdict": result.goal_reached.value,
             "reason": result.goal_reached.reason}]
    if result.goal_stated is not None:
        rows.append({"step_index": 0, "label": "goal_stated", "verdict": result.goal_stated.value,
                     "reason": result.goal_stated.reason})
    parse = {}
    for step in result.steps:
        parse[step.index] = ("parsed" if step.parsed else "unparsed", step.canonical)
        rows += [{"step_index": step.index, "label": label, "verdict": v.value, "reason": v.reason}
                 for label, v in step.verdicts.items()]
    return rows, parse


Item = tuple[int, list[str], str | None, list[str], list[str] | None]  # id, premises, goal, steps, reference


def check_items(sandbox: Sandbox, items: list[Item]) -> Iterator[Checked]:
    """Each item checked (with proposals for its incorrect steps), in order. A checker
    error is not a timeout: its rows say the error."""

    def run(item: Item) -> Checked:
        derivation_id, premises, goal, steps, reference = item
        started = time.perf_counter()
        outcome = sandbox.call(check_and_propose, premises, goal, steps, reference, timeout=CHECK_TIMEOUT)
        seconds = time.perf_counter() - started
        if outcome.ok:
            return Checked(derivation_id, *_rows(outcome.value), _proposals(outcome.value), seconds, False,
                           outcome.value.metrics)
        # every verdict unknown, and why: out of time, or the checker's own error (never the one for the other)
        reason = (f"SymPy ran out of time ({outcome.error})" if outcome.timed_out
                  else f"the checker failed: {outcome.error}")
        rows = [{"step_index": i, "label": label, "verdict": "unknown", "reason": reason}
                for i in range(1, len(steps) + 1)
                for label in ("incorrect", "irrelevant", "redundant", "skipped")]
        rows += [{"step_index": 0, "label": label, "verdict": "unknown", "reason": reason}
                 for label in ("goal_reached", "goal_stated")]
        return Checked(derivation_id, rows, {}, [], seconds, outcome.timed_out)

    with ThreadPoolExecutor(max_workers=sandbox.size) as pool:
        yield from pool.map(run, items)


def check_project(factory: sessionmaker[Session], *, project_name: str, sandbox: Sandbox | None = None,
                  progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None,
                  waiting: Callable[[str, float], None] | None = None) -> RunStats:
    """Check every derivation of the project not checked yet; `waiting(why, seconds)` is told
    when PostgreSQL cannot be reached and the run waits for it."""
    sandbox = sandbox or default_sandbox()
    with transaction(factory) as session:
        project = projects_repo.get_by_name(session, project_name)
        if project is None:
            raise NotFound(f"project '{project_name}' does not exist")
        items = checks_repo.to_check(session, project.id)
    if total:
        total(len(items))
    stats = RunStats()
    for checked in check_items(sandbox, items):
        stats.derivations += 1
        stats.seconds.append(checked.seconds)
        stats.timeouts += checked.timed_out
        _save_waiting_out_the_database(factory, checked, waiting)
        if progress:
            progress(1)
    return stats


DATABASE_PATIENCE = 120.0  # seconds a check run waits for PostgreSQL to come back (a restart takes a few)


def _save_waiting_out_the_database(factory: sessionmaker[Session], checked: Checked,
                                   waiting: Callable[[str, float], None] | None) -> None:
    """A check's results written; while PostgreSQL is away (restarted, stopped a moment) the run
    waits and tries again, as a worker does, instead of losing the checks so far. Saving
    replaces a derivation's suggestions, so a second try after a commit that did land is harmless."""
    delay, deadline = 0.5, time.monotonic() + DATABASE_PATIENCE
    while True:
        try:
            with transaction(factory) as session:
                save(session, checked)
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            if waiting:
                waiting(str(exc.orig or exc).strip().splitlines()[0], delay)
            time.sleep(delay)
            delay = min(5.0, delay * 2)


@dataclass
class Progress:
    total: int
    checked: int
    scored: int
    per_minute: int  # derivations checked in the last minute

    @property
    def done(self) -> bool:
        return self.checked >= self.total and self.scored >= self.total

    @property
    def eta_minutes(self) -> float | None:
        """At the last minute's pace; None while nothing was checked in it."""
        return (self.total - self.checked) / self.per_minute if self.per_minute else None


def progress(session: Session, *, project_id: int) -> Progress:
    return Progress(*checks_repo.progress(session, project_id))


def recheck(session: Session, *, derivation_id: int) -> int:
    """Queue one derivation's SymPy check ahead of bulk checks (someone waits on a page for
    it); returns the job's id. Its suggestions are replaced when the job is done."""
    if derivations_repo.get_project_id(session, derivation_id) is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return jobs_repo.add(session, kind=jobs.CHECK, payload={"derivation_ids": [derivation_id]},
                         priority=jobs.INTERACTIVE)


def recheck_state(session: Session, *, derivation_id: int, job_id: int) -> str:
    """queued | running | done | failed, for a re-check of this derivation."""
    job = jobs_repo.get(session, job_id)
    if job is None or job.kind != jobs.CHECK or job.payload.get("derivation_ids") != [derivation_id]:
        raise NotFound(f"job {job_id} is not a re-check of derivation {derivation_id}")
    return job.state.value


def save(session: Session, checked: Checked) -> None:
    """A check's suggestions, parses and proposals (replaced), and its symbolic metric (merged
    into the derivation's metrics beside ROUGE-2, BLEU and GLEU)."""
    checks_repo.save(session, checked.derivation_id, checked.rows, checked.parse, checked.proposals)
    if checked.metrics:
        derivations_repo.add_metrics(session, [(checked.derivation_id, checked.metrics)])
