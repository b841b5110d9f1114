"""The annotate page's view model: a derivation with everything the page shows, and an
annotator's list of work."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.errors import Forbidden
from app.models import Annotation, AnnotationStatus, Derivation, Project, Role, Step, User
from app.repositories import annotations as annotations_repo
from app.repositories import checks as checks_repo
from app.repositories import projects as projects_repo
from app.services import pushing
from app.services.annotating.common import _derivation, check_project_access, state_of, _project


@dataclass
class AnnotationView:
    """Everything the annotate page shows."""

    project: Project
    derivation: Derivation
    annotation: Annotation | None
    labels: dict[int, set[str]] = field(default_factory=dict)
    show_model: bool = False
    # SymPy's suggestions: step index -> label -> (verdict, reason); index 0: goal_reached
    checks: dict[int, dict[str, tuple[str, str]]] = field(default_factory=dict)
    notes: dict[int, tuple[str, bool]] = field(default_factory=dict)  # step id -> (note, unsure)
    proposals: dict = field(default_factory=dict)  # step index -> SymPy's proposed correct step
    # other suggestion sources (pushed through the API): step index -> [(source, label, score, reason)]
    predictions: dict = field(default_factory=dict)
    progress: "Progress | None" = None
    has_previous: bool = False

    @property
    def state(self) -> str:
        return state_of(self.annotation)

    def suggested(self, step_index: int) -> list[tuple[str, str]]:
        """(label, reason) that SymPy says yes to, for one step."""
        return [(label, reason) for label, (verdict, reason) in sorted(self.checks.get(step_index, {}).items())
                if verdict == "yes"]

    @property
    def goal_check(self) -> tuple[str, str] | None:
        """SymPy on goal reached: the last step is the goal and no step on the way is incorrect."""
        return self.checks.get(0, {}).get("goal_reached")

    @property
    def goal_stated(self) -> tuple[str, str] | None:
        """SymPy on whether the last step is the goal at all (the prompt states the goal)."""
        return self.checks.get(0, {}).get("goal_stated")

    @property
    def steps(self) -> list[Step]:
        return self.derivation.steps

    @property
    def submitted(self) -> bool:
        return bool(self.annotation and self.annotation.status == AnnotationStatus.submitted)


@dataclass(frozen=True)
class Progress:
    mine: int  # the viewer's submitted annotations in the project
    done: int  # submitted annotations in the project (or its sample)
    total: int  # derivations (in the sample) x overlap


def open_derivation(session: Session, *, derivation_id: int, user: User) -> AnnotationView:
    derivation = _derivation(session, derivation_id)
    project = _project(session, derivation.project_id)
    if project.gold_of is not None:  # a gold item shows as an item of the project it calibrates
        project = _project(session, project.gold_of)
    check_project_access(session, project_id=project.id, user=user)
    annotation = annotations_repo.get(session, derivation_id=derivation_id, annotator_id=user.id)
    if annotation is None and user.role == Role.annotator:
        raise Forbidden("This derivation is not in your queue: use “Annotate next”.")
    labels = annotations_repo.labels_by_step(session, annotation.id) if annotation else {}
    done, total, mine = projects_repo.judgement_progress(session, project.id, user.id)
    checks = checks_repo.for_derivation(session, derivation_id)
    # proposals exist only for steps SymPy calls incorrect: no query otherwise (the hot path)
    wrong = any(v.get("incorrect", ("",))[0] == "yes" for v in checks.values())
    return AnnotationView(
        project=project,
        derivation=derivation,
        annotation=annotation,
        labels=labels,
        # Blind (the default): annotators judge the derivation, not the model's reputation.
        show_model=not (project.blind and user.role == Role.annotator),
        checks=checks,
        proposals=checks_repo.proposals_for(session, derivation_id) if wrong else {},
        predictions=pushing.predictions_for(session, derivation_id),
        notes=annotations_repo.notes_by_step(session, annotation.id) if annotation else {},
        progress=Progress(mine, done, total * project.overlap),
        has_previous=annotations_repo.previous(session, project_id=project.id, annotator_id=user.id,
                                               derivation_id=derivation_id, current=annotation) is not None,
    )


def my_work(session: Session, *, project_id: int, user: User) -> list[Annotation]:
    return annotations_repo.list_for_annotator(session, project_id=project_id, annotator_id=user.id)
