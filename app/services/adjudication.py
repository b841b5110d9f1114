"""A reviewer settles where annotators disagree: side by side, one final label set per
step and a final goal. Decided final labels are what dashboards count."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import Adjudication, Annotation, Derivation, Project, User
from app.services import taxonomy
from app.services.taxonomy import check_label
from app.repositories import adjudication as adjudication_repo
from app.repositories import annotations as annotations_repo
from app.repositories import checks as checks_repo
from app.repositories import corrections as corrections_repo
from app.repositories import derivations as derivations_repo
from app.repositories import history as history_repo
from app.repositories import projects as projects_repo


@dataclass
class Side:
    annotator: str
    annotation: Annotation
    labels: dict[int, set[str]]  # step id -> labels


@dataclass
class ReviewView:
    project: Project
    derivation: Derivation
    sides: list[Side]
    adjudication: Adjudication | None
    final: dict[int, set[str]] = field(default_factory=dict)
    checks: dict[int, dict[str, tuple[str, str]]] = field(default_factory=dict)  # step index -> SymPy's verdicts
    proposals: dict = field(default_factory=dict)  # step index -> StepProposal
    corrections: dict = field(default_factory=dict)  # step id -> StepCorrection (the latest)

    def wants_correction(self, step) -> bool:
        """A correction field where one may be needed: SymPy, an annotator or the final labels say incorrect."""
        return (step.index in self.proposals or step.id in self.corrections
                or self.checks.get(step.index, {}).get("incorrect", ("",))[0] == "yes"
                or any("incorrect" in side.labels.get(step.id, set()) for side in self.sides)
                or "incorrect" in self.final.get(step.id, set()))

    def suggested(self, step_index: int) -> list[tuple[str, str]]:
        """(label, reason) that SymPy says yes to, for one step."""
        return [(label, reason) for label, (verdict, reason) in sorted(self.checks.get(step_index, {}).items())
                if verdict == "yes"]

    def disputed(self, step_id: int) -> bool:
        return len({frozenset(side.labels.get(step_id, set())) for side in self.sides}) > 1

    @property
    def goal_disputed(self) -> bool:
        return len({side.annotation.goal_reached for side in self.sides}) > 1

    @property
    def final_goal(self) -> bool | None:
        if self.adjudication is not None:
            return self.adjudication.goal_reached
        goals = {side.annotation.goal_reached for side in self.sides}
        return goals.pop() if len(goals) == 1 else None

    def agreed(self) -> dict[int, set[str]]:
        """Per step, the labels every annotator gave: where a first decision starts."""
        if not self.sides:
            return {}
        return {step.id: set.intersection(*(set(side.labels.get(step.id, set())) for side in self.sides))
                for step in self.derivation.steps}


def _derivation(session: Session, derivation_id: int) -> Derivation:
    derivation = derivations_repo.get_full(session, derivation_id)
    if derivation is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return derivation


def review(session: Session, *, derivation_id: int) -> ReviewView:
    derivation = _derivation(session, derivation_id)
    submitted = adjudication_repo.submitted(session, derivation_id)
    labels = adjudication_repo.labels_of(session, [a.id for a, _ in submitted])
    sides = [Side(name, a, labels.get(a.id, {})) for a, name in submitted]
    view = ReviewView(projects_repo.get(session, derivation.project_id), derivation, sides,
                      adjudication_repo.get(session, derivation_id))
    # before any decision, the final column shows where it will start: what all agreed on
    view.final = adjudication_repo.final_labels(session, derivation_id) if view.adjudication else view.agreed()
    view.checks = checks_repo.for_derivation(session, derivation_id)
    view.proposals = checks_repo.proposals_for(session, derivation_id)
    view.corrections = corrections_repo.latest_for(session, derivation_id)
    return view


def _start(session: Session, *, derivation_id: int, reviewer: User) -> Adjudication:
    """The first final decision on a derivation starts from what every annotator agreed on."""
    existing = adjudication_repo.get(session, derivation_id)
    if existing is not None:
        return existing
    view = review(session, derivation_id=derivation_id)
    if len(view.sides) < 2:
        raise InvalidInput(f"derivation {derivation_id} has fewer than two submitted annotations: nothing to settle")
    return adjudication_repo.create(session, derivation_id=derivation_id, reviewer_id=reviewer.id,
                                    goal_reached=view.final_goal, labels=view.agreed())


def set_final_label(session: Session, *, derivation_id: int, step_id: int, label: str, on: bool,
                    reviewer: User) -> set[str]:
    found = derivations_repo.step_in_derivation(session, derivation_id, step_id)
    if found is None:
        _derivation(session, derivation_id)
        raise NotFound(f"step {step_id} is not a step of derivation {derivation_id}")
    check_label(found[1], label, on)
    _start(session, derivation_id=derivation_id, reviewer=reviewer)
    if adjudication_repo.set_final_label(session, derivation_id=derivation_id, step_id=step_id, label=label, on=on):
        adjudication_repo.update_adjudication(session, derivation_id, reviewer_id=reviewer.id)
        annotations_repo.add_event(session, derivation_id=derivation_id, actor_id=reviewer.id,
                                   kind="final_on" if on else "final_off", step_id=step_id,
                                   detail={"label": label, "old": not on, "new": on})
    return adjudication_repo.final_labels(session, derivation_id).get(step_id, set())


def settle(session: Session, *, derivation_id: int, reviewer: User, goal_reached: bool | None,
           comment: str) -> Adjudication:
    """Record the final goal and comment and mark the derivation decided (again, after a change).
    A corrected step must carry an error label: a correction of a step the final labels call
    right would reach no corrections export, silently."""
    adjudication = _start(session, derivation_id=derivation_id, reviewer=reviewer)
    _corrected_steps_are_wrong(session, derivation_id)
    old = {"goal_reached": adjudication.goal_reached, "comment": adjudication.comment}
    adjudication_repo.update_adjudication(session, derivation_id, reviewer_id=reviewer.id, goal_reached=goal_reached,
                                          comment=comment[:10_000], decided_at=adjudication_repo.now())
    annotations_repo.add_event(session, derivation_id=derivation_id, actor_id=reviewer.id, kind="settle",
                               detail={"goal_reached": goal_reached, "comment": comment[:10_000], "old": old})
    session.flush()
    return adjudication_repo.get(session, derivation_id)


def _corrected_steps_are_wrong(session: Session, derivation_id: int) -> None:
    corrected = corrections_repo.latest_for(session, derivation_id)
    if not corrected:
        return
    project = projects_repo.get(session, derivations_repo.get_project_id(session, derivation_id))
    ratings = taxonomy.ratings(project)
    final = adjudication_repo.final_labels(session, derivation_id)
    index = {step.id: step.index for step in derivations_repo.get_full(session, derivation_id).steps}
    unmarked = sorted(index[step_id] for step_id in corrected
                      if not any(ratings.get(label, 0) == -1 for label in final.get(step_id, ())))
    if unmarked:
        errors = ", ".join(k for k, v in ratings.items() if v == -1) or "an error label"
        raise InvalidInput(f"step {', '.join(map(str, unmarked))} has a correction but no error label: mark it "
                           f"({errors}) or clear the correction, then settle")


def disagreements(session: Session, *, project_id: int, model_id: int | None = None,
                  perturbation: str | None = None) -> list[dict]:
    if projects_repo.get(session, project_id) is None:
        raise NotFound(f"project {project_id} does not exist")
    return adjudication_repo.disagreements(session, project_id=project_id, model_id=model_id, perturbation=perturbation)


def history(session: Session, *, derivation_id: int) -> tuple[ReviewView, list]:
    """The derivation's review view (404 for an unknown one) and its events, oldest first."""
    return review(session, derivation_id=derivation_id), history_repo.for_derivation(session, derivation_id)
