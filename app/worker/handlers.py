"""What each kind of job does. Heavy work (the model, SymPy) runs first, outside
any transaction; the writes then go through `lease.finish()`, in one transaction
with the job marked done."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.db import transaction
from app.math.sandbox import Sandbox, default_sandbox
from app.repositories import checks as checks_repo
from app.repositories import runs as runs_repo
from app.schemas.runs import Decoding
from app.services import checking, export_jobs, runs, scoring
from app.worker.backends import BackendCache

log = logging.getLogger("derivlab.worker")


@dataclass
class Context:
    sessions: sessionmaker[Session]
    backends: BackendCache
    sandbox_processes: int | None = None  # None: the default sandbox (cores, at most 4)
    _sandbox: Sandbox | None = field(default=None, repr=False)

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:  # started on first use: a generate-only worker needs none
            self._sandbox = Sandbox(self.sandbox_processes) if self.sandbox_processes else default_sandbox()
        return self._sandbox


def generate(ctx: Context, lease: jobs.Lease) -> str:
    payload = lease.job.payload
    with transaction(ctx.sessions) as session:
        run = runs_repo.get(session, payload["run_id"])
        if run is None:
            with lease.finish():
                return "run deleted: nothing to do"
        todo = runs_repo.problems_to_generate(session, run_id=run.id, problem_ids=payload["problem_ids"])
    if not todo:
        with lease.finish():
            return "already generated"
    decoding = Decoding.from_dict(run.decoding)
    backend = ctx.backends.get(run.backend, run.model_path, decoding)
    texts = backend.generate([prompt for _, prompt in todo], decoding)
    with lease.finish() as session:
        new = runs.store_outputs(session, run=run, outputs=[(pid, text) for (pid, _), text in zip(todo, texts)])
    return f"{len(new)} derivations written"


def check(ctx: Context, lease: jobs.Lease) -> str:
    ids = lease.job.payload["derivation_ids"]
    with transaction(ctx.sessions) as session:
        items = checks_repo.to_check(session, derivation_ids=ids)
    results = list(checking.check_items(ctx.sandbox, items))
    with lease.finish() as session:
        for checked in results:  # replaces: a re-run writes nothing twice
            checking.save(session, checked)
    timeouts = sum(r.timed_out for r in results)
    return f"{len(results)} derivations checked, {timeouts} out of time"


def export(ctx: Context, lease: jobs.Lease) -> str:
    export_id = lease.job.payload["export_id"]
    try:
        size = export_jobs.write(ctx.sessions, lease.finish, export_id=export_id)
    except jobs.LeaseLost:
        raise
    except Exception as exc:
        if lease.job.attempts >= lease.job.max_attempts:  # the last try: say so on the export too
            with transaction(ctx.sessions) as session:
                export_jobs.fail(session, export_id=export_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return f"export written: {size:,} bytes"


def metrics(ctx: Context, lease: jobs.Lease) -> str:
    with lease.finish() as session:
        scored = scoring.score_derivations(session, derivation_ids=lease.job.payload["derivation_ids"])
    return f"{scored} derivations scored (ROUGE-2, BLEU, GLEU)"


HANDLERS = {jobs.GENERATE: generate, jobs.CHECK: check, jobs.EXPORT: export, jobs.METRICS: metrics}
