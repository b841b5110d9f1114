"""The annotation queue: Next, Previous, skip, and where the annotator stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import AnnotationStatus, User
from app.repositories import annotations as annotations_repo
from app.repositories import derivations as derivations_repo
from app.repositories import projects as projects_repo
from app.services import gold
from app.services.annotating.common import _derivation_exists, check_project_access, _calibrated, _project


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
