"""An annotator's work on one derivation: open it, label steps, judge, submit.
Every change is written when it is made; the request's transaction commits it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound, StaleAnnotation
from app.models import Annotation, AnnotationStatus, Derivation, Project, Role, Step, User
from app.repositories import annotations as annotations_repo
from app.repositories import checks as checks_repo
from app.repositories import derivations as derivations_repo
from app.repositories import projects as projects_repo
from app.services import gold, pushing
from app.services.taxonomy import check_label
from app.services.projects import get_project


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


def state_of(annotation: Annotation | None) -> str:
    """new | in_progress | submitted | changed (submitted, then changed: needs submitting again)."""
    if annotation is None:
        return "new"
    if annotation.status == AnnotationStatus.submitted:
        return "submitted" if annotation.submitted_version in (None, annotation.version) else "changed"
    return "in_progress"


STATE_TEXT = {"new": "not started", "in_progress": "in progress", "submitted": "submitted",
              "changed": "changed since submitted: submit again"}


def _derivation(session: Session, derivation_id: int) -> Derivation:
    derivation = derivations_repo.get_full(session, derivation_id)
    if derivation is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return derivation


def _derivation_exists(session: Session, derivation_id: int) -> int:
    project_id = derivations_repo.get_project_id(session, derivation_id)
    if project_id is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return project_id


_project = get_project


NOT_MEMBER = "You are not one of this project's annotators."


def check_project_access(session: Session, *, project_id: int, user: User) -> None:
    """Annotators work only in projects open to them (no members listed, or they are one). A
    project's gold companion does not exist for them (the same 404 as a missing project): its
    name and its list of items would tell gold from real; they meet gold items as items of the
    project they calibrate."""
    if user.role != Role.annotator:
        return
    project = projects_repo.get(session, project_id)
    if project is not None and project.gold_of is not None:
        raise NotFound(f"project {project_id} does not exist")
    if project is not None and project.archived_at is not None:
        raise Forbidden("This project is archived: it takes no more annotations (an admin can bring it back).")
    if not projects_repo.is_open_to(session, project_id, user.id):
        raise Forbidden(NOT_MEMBER)


def _calibrated(session: Session, project_id: int) -> int:
    """The project a derivation counts for: a gold item's is the project its companion calibrates."""
    project = projects_repo.get(session, project_id)
    return project.gold_of if project is not None and project.gold_of is not None else project_id


@dataclass(frozen=True)
class Seen:
    """What the writing browser tab last saw: the annotation's version, and the tab's id.
    A write is refused when the annotation changed since, unless this same tab changed it
    (its own quick changes may overtake each other's responses)."""
    version: int | None  # None: not version-checked, but the tab is recorded
    tab: str


def _own_annotation(session: Session, *, derivation_id: int, user: User, seen: Seen | None = None) -> Annotation:
    """The user's annotation of the derivation. Annotators get derivations from Next only,
    so the overlap holds; admins and reviewers may open and label any derivation."""
    annotation = annotations_repo.get(session, derivation_id=derivation_id, annotator_id=user.id,
                                      lock=seen is not None)
    if user.role == Role.annotator:  # removed from the project's annotators: their old work is closed to them
        open_ = projects_repo.derivation_open_to(session, derivation_id, user.id)
        if open_ is None:
            raise NotFound(f"derivation {derivation_id} does not exist")
        if not open_:
            raise Forbidden(NOT_MEMBER)
    if annotation is not None:
        if seen is not None and seen.version is not None and seen.version != annotation.version \
                and annotation.last_tab != seen.tab:
            raise StaleAnnotation(
                f"This annotation was changed in another tab or window (it is at version {annotation.version}, "
                f"this page showed version {seen.version}). Your change was not saved: here is the current state.",
                derivation_id=derivation_id)
        return annotation
    if user.role == Role.annotator:
        _derivation_exists(session, derivation_id)
        raise Forbidden("This derivation is not in your queue: use “Annotate next”.")
    # Created by this tab's first change: the tab is recorded at once (touch), so its next quick
    # changes, sent before this one's answer came back, are its own and never refused.
    return annotations_repo.get_or_create(session, derivation_id=derivation_id, annotator_id=user.id)


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


MAX_SKIPS = 100  # candidates found full after locking before giving up (only under heavy contention)


def next_derivation(session: Session, *, project_id: int, user: User, skipping: int | None = None) -> int | None:
    """The annotator's own unfinished derivation first, else a new one, claimed now, else
    one they skipped (longest ago first). New ones come block by block in the project's
    shuffled order (derivations_repo.next_candidate) and never past the overlap k: the
    candidate is locked, then its annotations counted again, so two annotators pressing
    Next at once cannot both take its last slot. `skipping`: the derivation just skipped,
    served again only when nothing else is left."""
    project = _project(session, project_id)
    if project.gold_of is not None:  # gold items come only mixed into their project's queue
        raise NotFound(f"project {project_id} does not exist")
    check_project_access(session, project_id=project.id, user=user)
    mine = annotations_repo.oldest_in_progress(session, project_id=project.id, annotator_id=user.id)
    if mine is not None:
        return mine
    gold_item = gold.due(session, project=project, user=user)  # calibration, unannounced
    if gold_item is not None:
        annotations_repo.get_or_create(session, derivation_id=gold_item, annotator_id=user.id)
        return gold_item
    sampled = projects_repo.has_sample(session, project.id)
    full: list[int] = []
    for _ in range(MAX_SKIPS):
        derivation_id = derivations_repo.next_candidate(
            session, project_id=project.id, annotator_id=user.id, overlap=project.overlap, sampled=sampled,
            exclude=full, strategy=project.queue_strategy,
        )
        if derivation_id is None:
            break
        if derivations_repo.annotation_count(session, derivation_id) < project.overlap:
            annotations_repo.get_or_create(session, derivation_id=derivation_id, annotator_id=user.id)
            return derivation_id
        full.append(derivation_id)  # filled by someone who committed after our snapshot
    skipped = annotations_repo.longest_skipped(session, project_id=project.id, annotator_id=user.id,
                                               exclude=skipping)
    if skipped is None and skipping is not None:
        skipped = annotations_repo.longest_skipped(session, project_id=project.id, annotator_id=user.id)
    if skipped is not None:  # back in the queue's front: skipping it again sends it to the back
        annotation = annotations_repo.get(session, derivation_id=skipped, annotator_id=user.id)
        annotations_repo.set_fields(session, annotation.id, skipped_at=None)
    return skipped


@dataclass
class QueueState:
    """What Next would do, found without claiming anything (for GET /projects/N/next)."""
    current: int | None  # the annotator's unfinished, unskipped derivation
    new_available: bool
    skipped: int
    done: int


def queue_state(session: Session, *, project_id: int, user: User) -> QueueState:
    project = _project(session, project_id)
    check_project_access(session, project_id=project.id, user=user)
    current = annotations_repo.oldest_in_progress(session, project_id=project.id, annotator_id=user.id)
    candidate = None if current is not None else derivations_repo.next_candidate(
        session, project_id=project.id, annotator_id=user.id, overlap=project.overlap,
        sampled=projects_repo.has_sample(session, project.id), exclude=[], strategy=project.queue_strategy)
    counts = annotations_repo.queue_counts(session, project_id=project.id, annotator_id=user.id)
    return QueueState(current, candidate is not None, counts["skipped"], counts["submitted"])


def skip(session: Session, *, derivation_id: int, user: User) -> int:
    """Next from the annotate page: unfinished work goes to the back of the annotator's
    queue (kept, with its labels), submitted work stays as it is. Returns the project id."""
    own_project = _derivation_exists(session, derivation_id)
    project_id = _calibrated(session, own_project)  # a gold item's Next goes on in its project
    check_project_access(session, project_id=project_id, user=user)
    annotation = annotations_repo.get(session, derivation_id=derivation_id, annotator_id=user.id)
    if annotation is not None and annotation.status == AnnotationStatus.in_progress:
        annotations_repo.set_fields(session, annotation.id, skipped_at=datetime.now(timezone.utc))
        annotations_repo.add_event(session, annotation_id=annotation.id, derivation_id=derivation_id,
                                   actor_id=user.id, kind="skip")
    return project_id


def previous_derivation(session: Session, *, derivation_id: int, user: User) -> int | None:
    """The derivation Next gave this annotator before this one (None at the first)."""
    project_id = _derivation_exists(session, derivation_id)
    check_project_access(session, project_id=_calibrated(session, project_id), user=user)
    return annotations_repo.previous(session, project_id=project_id, annotator_id=user.id,
                                     derivation_id=derivation_id)


MAX_ACTIVE_REPORT = 120.0  # seconds one report may add (the page reports every 15 s)


def record_active_time(session: Session, *, derivation_id: int, user: User, seconds: float) -> float:
    """Add active seconds reported by the annotate page; returns the annotation's total."""
    if not 0 <= seconds <= MAX_ACTIVE_REPORT:
        raise InvalidInput(f"seconds: 0..{MAX_ACTIVE_REPORT:.0f} per report (got {seconds})")
    annotation = annotations_repo.get(session, derivation_id=derivation_id, annotator_id=user.id)
    if annotation is None:
        _derivation_exists(session, derivation_id)
        raise NotFound(f"you have no annotation of derivation {derivation_id}")
    return annotations_repo.add_active_time(session, annotation.id, seconds)


@dataclass
class LabelChange:
    step: Step
    labels: set[str]  # the step's labels after the change
    taxonomy: list[dict]
    status: str  # of the annotation: state_of()
    version: int  # of the annotation, after the change


def set_step_label(
    session: Session, *, derivation_id: int, step_id: int, label: str, on: bool, user: User, seen: Seen | None = None
) -> LabelChange:
    """Set (not toggle) a label, so a repeated or replayed request changes nothing more."""
    found = derivations_repo.step_in_derivation(session, derivation_id, step_id)
    if found is None:
        _derivation_exists(session, derivation_id)
        raise NotFound(f"step {step_id} is not a step of derivation {derivation_id}")
    step, taxonomy = found
    check_label(taxonomy, label, on)
    annotation = _own_annotation(session, derivation_id=derivation_id, user=user, seen=seen)
    if annotations_repo.set_label(session, annotation_id=annotation.id, step_id=step_id, label=label, on=on):
        annotations_repo.touch(session, annotation.id, last_tab=seen.tab if seen else None)
        annotations_repo.add_event(
            session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id,
            kind="label_on" if on else "label_off", step_id=step_id,
            detail={"label": label, "old": not on, "new": on},
        )
    return LabelChange(
        step, annotations_repo.labels_of_step(session, annotation.id, step_id), taxonomy, state_of(annotation),
        annotation.version,
    )


MAX_COMMENT = 10_000
MAX_NOTE = 2_000


def set_step_note(session: Session, *, derivation_id: int, step_id: int, note: str, unsure: bool, user: User,
                  seen: Seen | None = None) -> tuple[Annotation, str, bool]:
    """An annotator's note on a step and their "unsure" flag: part of the judgement (versioned, in the history)."""
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"note: at most {MAX_NOTE} characters ({len(note)} given)")
    if derivations_repo.step_in_derivation(session, derivation_id, step_id) is None:
        _derivation_exists(session, derivation_id)
        raise NotFound(f"step {step_id} is not a step of derivation {derivation_id}")
    annotation = _own_annotation(session, derivation_id=derivation_id, user=user, seen=seen)
    old = annotations_repo.set_note(session, annotation_id=annotation.id, step_id=step_id, note=note, unsure=unsure)
    if old is not None:
        annotations_repo.touch(session, annotation.id, last_tab=seen.tab if seen else None)
        annotations_repo.add_event(
            session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id, kind="note",
            step_id=step_id, detail={"note": note, "unsure": unsure, "old": {"note": old[0], "unsure": old[1]}})
    return annotation, note, unsure


def save_judgement(
    session: Session, *, derivation_id: int, user: User, goal_reached: bool | None, comment: str,
    seen: Seen | None = None,
) -> Annotation:
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters ({len(comment)} given)")
    _derivation_exists(session, derivation_id)
    annotation = _own_annotation(session, derivation_id=derivation_id, user=user, seen=seen)
    changes = {}
    old = {"goal_reached": annotation.goal_reached, "comment": annotation.comment}
    if annotation.goal_reached != goal_reached:
        changes["goal_reached"] = goal_reached
    if annotation.comment != comment:
        changes["comment"] = comment
    if changes:
        annotations_repo.touch(session, annotation.id, last_tab=seen.tab if seen else None, **changes)
        annotations_repo.add_event(
            session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id, kind="judgement",
            detail={**{k: v for k, v in changes.items()}, "old": {k: old[k] for k in changes}},
        )
    return annotation


def submit(
    session: Session, *, derivation_id: int, user: User, goal_reached: bool | None, comment: str,
    seen: Seen | None = None,
) -> int:
    """Save the judgement and mark the work done; returns the project id (for Next)."""
    project_id = _derivation_exists(session, derivation_id)
    annotation = save_judgement(
        session, derivation_id=derivation_id, user=user, goal_reached=goal_reached, comment=comment, seen=seen
    )
    # version and submitted_version move together: the submitted state is this version
    annotations_repo.touch(
        session, annotation.id, status=AnnotationStatus.submitted, submitted_at=datetime.now(timezone.utc),
        submitted_version=Annotation.version + 1, skipped_at=None, last_tab=seen.tab if seen else None,
    )
    annotations_repo.snapshot_submitted(session, [annotation.id])  # what exports read until the next submit
    annotations_repo.add_event(session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id,
                               kind="submit")
    return project_id


def my_work(session: Session, *, project_id: int, user: User) -> list[Annotation]:
    return annotations_repo.list_for_annotator(session, project_id=project_id, annotator_id=user.id)
