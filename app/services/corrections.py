"""The correct step for a wrong one, as a reviewer settles it: SymPy's proposal accepted,
or their own LaTeX. What the training exports' corrections are made of."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import StepCorrection, User
from app.repositories import checks as checks_repo
from app.repositories import corrections as corrections_repo
from app.repositories import derivations as derivations_repo

MAX_LATEX = 10_000


def set_correction(session: Session, *, derivation_id: int, step_id: int, latex: str, accept_proposal: bool,
                   reviewer: User) -> StepCorrection | None:
    """Accept SymPy's proposal for the step, or store the reviewer's LaTeX; empty LaTeX
    (and no accepting) clears the reviewer's correction. Returns the step's latest."""
    found = derivations_repo.step_in_derivation(session, derivation_id, step_id)
    if found is None:
        if derivations_repo.get_project_id(session, derivation_id) is None:
            raise NotFound(f"derivation {derivation_id} does not exist")
        raise NotFound(f"step {step_id} is not a step of derivation {derivation_id}")
    step = found[0]
    if accept_proposal:
        proposal = checks_repo.proposals_for(session, derivation_id).get(step.index)
        if proposal is None:
            raise InvalidInput(f"SymPy has no proposal for step {step.index}: type the correct step instead")
        latex = proposal.latex
    latex = latex.strip()
    if len(latex) > MAX_LATEX:
        raise InvalidInput(f"the correction of step {step.index} is {len(latex):,} characters long "
                           f"(at most {MAX_LATEX:,})")
    if latex:
        corrections_repo.upsert(session, derivation_id=derivation_id, step_id=step_id, author_id=reviewer.id,
                                latex=latex, from_proposal=accept_proposal)
    else:
        corrections_repo.remove(session, step_id=step_id, author_id=reviewer.id)
    session.flush()
    return corrections_repo.latest_for(session, derivation_id).get(step_id)
