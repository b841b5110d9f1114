"""A bulk delete racing a label save, stepped by hand: the label saved while the delete waits
goes into the trash with the rest and comes back with the undo (without the locks the cascade
removed it and the trash had never seen it)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, text

from app.db import transaction
from app.models import Annotation, StepLabel, User
from app.services import annotating, trash
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


def _waiting_on_a_lock(sessions, pid_of_delete: int) -> bool:
    with transaction(sessions) as session:
        return session.execute(text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"),
                               {"p": pid_of_delete}).scalar() is True


def test_a_label_saved_while_the_delete_waits_is_kept_in_the_trash(committed):
    with transaction(committed) as session:
        project = make_project(session)
        ann = make_user(session, username="ann")
        boss = make_user(session, username="boss")
        d = make_derivation(session, project=project, model="m")
        assign(session, ann, d)
        ids = {"project": project.id, "d": d.id, "ann": ann.id, "boss": boss.id, "step": steps_of(session, d)[0].id}

    # 1. the annotator's request saves a label and has not committed yet
    saving = committed()
    annotating.set_step_label(saving, derivation_id=ids["d"], step_id=ids["step"], label="incorrect", on=True,
                              user=saving.get(User, ids["ann"]))
    saving.flush()

    # 2. the delete starts in another connection: it must wait for the label's transaction
    outcome: dict = {}

    def delete():
        try:
            with transaction(committed) as session:
                outcome["pid"] = session.execute(text("SELECT pg_backend_pid()")).scalar()
                outcome["entry"] = trash.delete(session, project_id=ids["project"], derivation_ids=[ids["d"]],
                                                actor_id=ids["boss"], confirm="delete")
        except BaseException as exc:  # surfaced below
            outcome["error"] = exc

    worker = threading.Thread(target=delete)
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ("pid" in outcome and _waiting_on_a_lock(committed, outcome["pid"])):
        time.sleep(0.05)
    assert "pid" in outcome and _waiting_on_a_lock(committed, outcome["pid"]), "the delete did not wait"
    assert "entry" not in outcome

    # 3. the label's transaction commits; the delete goes on and finishes
    saving.commit()
    saving.close()
    worker.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")

    # 4. the undo brings the derivation back with the label saved during the race
    with transaction(committed) as session:
        assert session.scalar(select(Annotation.id).where(Annotation.derivation_id == ids["d"])) is None
        trash.restore(session, project_id=ids["project"], trash_id=outcome["entry"])
    with transaction(committed) as session:
        annotation = session.scalar(select(Annotation.id).where(Annotation.derivation_id == ids["d"]))
        labels = session.scalars(select(StepLabel.label).where(StepLabel.annotation_id == annotation)).all()
        assert labels == ["incorrect"]
