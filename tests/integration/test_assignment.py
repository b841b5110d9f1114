"""Who gets what: overlap k under concurrent Next, members, the stratified sample, blind mode."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.db import transaction
from app.errors import Forbidden
from app.models import Annotation, Derivation, Problem, Project, Role, User
from app.services import annotating, project_settings
from app.services.importing import import_file
from tests.conftest import PAPER_FILES
from tests.factories import make_user


def _import(session, name="study", which=("gpt-4",)):
    for key in which:
        path = PAPER_FILES[key]
        import_file(session, project_name=name, filename=path.name, data=path.read_bytes())
    return session.scalar(select(Project).where(Project.name == name))


def test_three_annotators_at_once_give_every_derivation_exactly_two_annotations(committed):
    with transaction(committed) as session:
        project = _import(session)
        project.overlap = 2
        users = [make_user(session, username=f"ann{i}").id for i in range(3)]
        project_id = project.id
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []
    taken: dict[int, list[int]] = {u: [] for u in users}

    def annotate(user_id: int):
        try:
            barrier.wait()
            while True:
                with transaction(committed) as session:  # one request: Next claims, then submit
                    user = session.get(User, user_id)
                    derivation_id = annotating.next_derivation(session, project_id=project_id, user=user)
                    if derivation_id is None:
                        return
                    annotating.submit(session, derivation_id=derivation_id, user=user, goal_reached=True, comment="")
                taken[user_id].append(derivation_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=annotate, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with transaction(committed) as session:
        per_derivation = dict(session.execute(
            select(Derivation.id, func.count(Annotation.id)).outerjoin(Annotation, Annotation.derivation_id == Derivation.id)
            .where(Derivation.project_id == project_id).group_by(Derivation.id)).all())
    assert len(per_derivation) == 50 and set(per_derivation.values()) == {2}
    assert sum(len(v) for v in taken.values()) == 100
    assert all(len(set(v)) == len(v) for v in taken.values())  # nobody got the same derivation twice
    assert all(len(v) >= 5 for v in taken.values())  # all three really worked at once


def test_every_derivation_reaches_k_before_any_gets_more(db):
    project = _import(db)
    project.overlap = 2
    users = [make_user(db), make_user(db)]
    for n in range(50):  # two annotators, alternating: the first 50 Nexts cover every derivation once
        user = users[n % 2]
        d = annotating.next_derivation(db, project_id=project.id, user=user)
        annotating.submit(db, derivation_id=d, user=user, goal_reached=None, comment="")
    counts = Counter(db.scalars(select(Annotation.derivation_id)))
    assert len(counts) == 50 and set(counts.values()) == {1}
    d = annotating.next_derivation(db, project_id=project.id, user=users[0])
    assert counts[d] == 1 and d not in {a.derivation_id for a in db.scalars(
        select(Annotation).where(Annotation.annotator_id == users[0].id, Annotation.derivation_id != d))}


def test_members_only_and_the_sample_restricts_the_queue(db):
    project = _import(db, which=("gpt-4", "gpt-3.5-turbo"))
    member, outsider = make_user(db), make_user(db)
    project_settings.update(db, project_id=project.id, overlap=1, blind=True, member_ids={member.id})
    with pytest.raises(Forbidden, match="not one of this project's annotators"):
        annotating.next_derivation(db, project_id=project.id, user=outsider)

    size = project_settings.draw_sample(db, project_id=project.id, per_model=2, seed=7)
    assert size == 2 * 2 * 5  # two models x two static problems x (static + VR, EE, AG, SR)
    seen = []
    while (d := annotating.next_derivation(db, project_id=project.id, user=member)) is not None:
        annotating.submit(db, derivation_id=d, user=member, goal_reached=None, comment="")
        seen.append(d)
    assert len(seen) == 20
    rows = db.execute(select(Derivation.model_id, Problem.key, Problem.perturbation)
                      .join(Problem, Problem.id == Derivation.problem_id).where(Derivation.id.in_(seen))).all()
    per_model = Counter(m for m, _, _ in rows)
    assert set(per_model.values()) == {10}
    # the perturbed derivations are the twins of the sampled static ones, same model
    static = {(m, k) for m, k, p in rows if p.value == "static"}
    assert {(m, k) for m, k, _ in rows} == static and len(static) == 4
    # the same seed draws the same sample
    again = project_settings.draw_sample(db, project_id=project.id, per_model=2, seed=7)
    assert again == size


def test_blind_mode_hides_the_model_from_annotators_only(db):
    project = _import(db)
    annotator, reviewer = make_user(db), make_user(db, role=Role.reviewer)
    d = annotating.next_derivation(db, project_id=project.id, user=annotator)
    assert not annotating.open_derivation(db, derivation_id=d, user=annotator).show_model
    assert annotating.open_derivation(db, derivation_id=d, user=reviewer).show_model
    project_settings.update(db, project_id=project.id, overlap=1, blind=False, member_ids=set())
    assert annotating.open_derivation(db, derivation_id=d, user=annotator).show_model


def test_annotators_cannot_open_derivations_outside_their_queue(db):
    project = _import(db)
    annotator = make_user(db)
    other = db.scalar(select(Derivation.id).where(Derivation.project_id == project.id).order_by(Derivation.id.desc()))
    with pytest.raises(Forbidden, match="not in your queue"):
        annotating.open_derivation(db, derivation_id=other, user=annotator)
    step = db.execute(select(Derivation).where(Derivation.id == other)).scalar_one()
    with pytest.raises(Forbidden):
        annotating.save_judgement(db, derivation_id=step.id, user=annotator, goal_reached=True, comment="")
    assert db.scalar(select(func.count()).select_from(Annotation)) == 0


def test_settings_refuse_bad_values_and_change_nothing(db):
    project = _import(db)
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="overlap: 1..20"):
        project_settings.update(db, project_id=project.id, overlap=0, blind=True, member_ids=set())
    with pytest.raises(InvalidInput, match="no user with id 999999"):
        project_settings.update(db, project_id=project.id, overlap=2, blind=True, member_ids={999999})
    db.refresh(project)
    assert project.overlap == 1
