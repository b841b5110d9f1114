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
from tests.helpers import PAPER_FILES
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


def test_next_fills_the_project_block_by_block_fewest_annotations_first(db):
    """Overlap 2, two annotators alternating. Within a block of the shuffled order every
    derivation gets its first annotation before any gets a second (fewest first); blocks
    are filled one after the other, so second annotations (agreement data) start long
    before the whole project has one; nobody ever goes past k."""
    project = _import(db)
    project.overlap = 2
    users = [make_user(db), make_user(db)]
    ranks = dict(db.execute(select(Derivation.id, Derivation.queue_rank).where(Derivation.project_id == project.id)).all())
    # the blocks, computed here from their definition: ceil(50 / 20) = 3 equal ranges of the 32-bit rank
    width = -(-2 ** 32 // 3)
    block = {d: (r + 2 ** 31) // width for d, r in ranks.items()}
    counts: Counter = Counter()
    first_second = None
    for n in range(100):
        user = users[n % 2]
        d = annotating.next_derivation(db, project_id=project.id, user=user)
        assert d is not None and counts[d] < 2
        if counts[d] == 1:
            first_second = n if first_second is None else first_second
            same_block_untouched = [o for o in ranks if block[o] == block[d] and counts[o] == 0]
            assert not same_block_untouched, (n, d, same_block_untouched)
        # blocks in order: nothing from a later block while an earlier one has a free slot
        assert all(counts[o] == 2 for o in ranks if block[o] < block[d]), n
        counts[d] += 1
        annotating.submit(db, derivation_id=d, user=user, goal_reached=None, comment="")
    assert set(counts.values()) == {2} and len(counts) == 50
    assert first_second is not None and first_second < 25  # agreement data after about a block, not the project
    assert annotating.next_derivation(db, project_id=project.id, user=users[0]) is None


def test_next_interleaves_models_and_problems_whatever_the_file_order(db):
    """Blind mode must not leak the model by position: the import puts all of one model
    first (ids follow the file), Next does not."""
    from app.models import LLMModel

    project = _import(db, which=("gpt-4", "gpt-3.5-turbo", "flan-t5-large"))
    user = make_user(db)
    models = dict(db.execute(select(Derivation.id, LLMModel.name).join(LLMModel, LLMModel.id == Derivation.model_id)
                             .where(Derivation.project_id == project.id)).all())
    by_id = [models[d] for d in sorted(models)]
    assert by_id[:50] == ["gpt-4"] * 50  # the file order: one model after the other
    served = []
    for _ in range(30):
        d = annotating.next_derivation(db, project_id=project.id, user=user)
        annotating.submit(db, derivation_id=d, user=user, goal_reached=None, comment="")
        served.append(d)
    assert served != sorted(served)
    first_ten = Counter(models[d] for d in served[:10])
    assert len(first_ten) >= 2, first_ten  # models mixed from the start
    problems = [db.get(Derivation, d).problem_id for d in served[:10]]
    assert len(set(problems)) >= 5
    # the order is the project's hash order (stable: the same for everyone, every time)
    ranks = dict(db.execute(select(Derivation.id, Derivation.queue_rank).where(Derivation.project_id == project.id)).all())
    assert served == sorted(ranks, key=lambda d: ranks[d])[:30]

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


def test_next_counts_again_under_the_lock_two_transactions_stepped_by_hand(committed, monkeypatch):
    """The race, made deterministic. Transaction B claims the last slot of derivation d and
    commits. Transaction A's candidate statement had taken its snapshot before that commit,
    so it still sees d free, and locks it (B's lock is gone): that is what the statement
    returns in the race, emulated here by returning d once. A must count again under the
    lock and move on, or d gets two annotations at overlap 1."""
    from app.repositories import derivations as derivations_repo

    with transaction(committed) as session:
        project = _import(session)
        project_id = project.id
        a_id, b_id = make_user(session, username="a").id, make_user(session, username="b").id
    with transaction(committed) as b:  # B: Next, committed
        d = annotating.next_derivation(b, project_id=project_id, user=b.get(User, b_id))
    real = derivations_repo.next_candidate
    stale = iter([d])

    def from_a_stale_snapshot(session, **kwargs):
        stale_id = next(stale, None)
        if stale_id is not None:  # locked for real, as the statement would have locked it
            session.execute(select(Derivation.id).where(Derivation.id == stale_id).with_for_update())
            return stale_id
        return real(session, **kwargs)

    monkeypatch.setattr(derivations_repo, "next_candidate", from_a_stale_snapshot)
    with transaction(committed) as a:  # A: Next, its statement stepped into the window
        got = annotating.next_derivation(a, project_id=project_id, user=a.get(User, a_id))
    assert got is not None and got != d
    with transaction(committed) as session:
        counts = Counter(session.scalars(select(Annotation.derivation_id)))
    assert counts[d] == 1 and max(counts.values()) == 1


def test_uncertain_first_serves_what_sympy_or_the_annotators_are_unsure_of(db):
    """SymPy could not decide one derivation; two annotators disagree on another and agree on
    a third: with overlap 3, the third annotator gets the disagreement and the undecided one
    before anything else, although both come late in the shuffled order."""
    from app.models import AutoCheck, Step

    project = _import(db)
    project.overlap = 3
    ranks = dict(db.execute(select(Derivation.id, Derivation.queue_rank).where(Derivation.project_id == project.id)).all())
    order = sorted(ranks, key=lambda d: ranks[d])
    undecided, disputed, agreed = order[-1], order[-2], order[-3]
    db.add(AutoCheck(derivation_id=undecided, step_index=1, label="incorrect", verdict="unknown", reason="out of time"))
    ann, bob, cy = make_user(db, username="ann"), make_user(db, username="bob"), make_user(db, username="cy")
    from tests.factories import assign
    for d in (disputed, agreed):
        step = db.scalars(select(Step).where(Step.derivation_id == d).order_by(Step.index)).first()
        for user in (ann, bob):
            assign(db, user, db.get(Derivation, d))
            if d == agreed or user is ann:
                annotating.set_step_label(db, derivation_id=d, step_id=step.id, label="incorrect", on=True, user=user)
            annotating.submit(db, derivation_id=d, user=user, goal_reached=True, comment="")
    db.flush()
    project_settings.update(db, project_id=project.id, overlap=3, blind=True, member_ids=set(),
                            queue_strategy="uncertain")
    served = []
    for _ in range(3):
        d = annotating.next_derivation(db, project_id=project.id, user=cy)
        annotating.submit(db, derivation_id=d, user=cy, goal_reached=None, comment="")
        served.append(d)
    assert set(served[:2]) == {disputed, undecided}  # the started one (disputed) among them first
    assert served[0] == disputed
    assert served[2] == order[0]  # then the usual order: the agreed one waits its turn
    # the interleaved strategy (the default) serves the shuffled order: they come last there
    project_settings.update(db, project_id=project.id, overlap=3, blind=True, member_ids=set(),
                            queue_strategy="interleaved")
    dee = make_user(db, username="dee")
    assert annotating.next_derivation(db, project_id=project.id, user=dee) not in {disputed, undecided, agreed}


def test_per_model_balanced_serves_the_model_with_the_fewest_annotations(db):
    from app.models import LLMModel
    from tests.factories import assign

    project = _import(db, which=("gpt-4", "gpt-3.5-turbo", "flan-t5-large"))
    models = dict(db.execute(select(Derivation.id, LLMModel.name).join(LLMModel, LLMModel.id == Derivation.model_id)
                             .where(Derivation.project_id == project.id)).all())
    ann = make_user(db, username="ann")
    for d in [d for d in sorted(models) if models[d] == "gpt-4"][:6]:  # gpt-4 is ahead by 6
        assign(db, ann, db.get(Derivation, d))
        annotating.submit(db, derivation_id=d, user=ann, goal_reached=None, comment="")
    project_settings.update(db, project_id=project.id, overlap=1, blind=True, member_ids=set(),
                            queue_strategy="balanced")
    bob = make_user(db, username="bob")
    served = []
    for _ in range(12):
        d = annotating.next_derivation(db, project_id=project.id, user=bob)
        annotating.submit(db, derivation_id=d, user=bob, goal_reached=None, comment="")
        served.append(models[d])
    assert "gpt-4" not in served[:6]  # the others catch up first
    counts = Counter(models[a.derivation_id] for a in db.scalars(select(Annotation)))
    assert counts == {"gpt-4": 6, "gpt-3.5-turbo": 6, "flan-t5-large": 6}


def test_an_unknown_queue_strategy_is_refused(db):
    project = _import(db)
    with pytest.raises(Exception, match="queue strategy 'random': use one of interleaved, uncertain, balanced"):
        project_settings.update(db, project_id=project.id, overlap=1, blind=True, member_ids=set(),
                                queue_strategy="random")
    assert db.get(Project, project.id).queue_strategy == "interleaved"
