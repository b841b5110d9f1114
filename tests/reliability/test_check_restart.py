"""`derivlab check` while PostgreSQL stops and starts again (issue 24, item 8): the run waits
for it and goes on, as a worker does; it aborted before, losing the checks in hand."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.db import make_engine, make_sessionmaker, transaction, upgrade
from app.models import AutoCheck
from app.services.checking import check_project
from tests.factories import make_derivation, make_project
from tests.reliability.test_database_restart import embedded  # noqa: F401 (fixture)


def test_a_check_run_waits_for_the_database_and_checks_everything(embedded):  # noqa: F811
    url, ctl = embedded
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as s:
        project = make_project(s, name="restarted")
        for _ in range(4):
            make_derivation(s, project=project)

    told: list[tuple[str, float]] = []
    restarted = threading.Event()

    def progress(_n: int) -> None:
        if not restarted.is_set():  # after the first save: the database goes away for ~2 s
            restarted.set()
            ctl("stop", "-m", "fast")
            threading.Timer(2.0, lambda: ctl("start")).start()

    stats = check_project(sessions, project_name="restarted", progress=progress,
                          waiting=lambda why, seconds: told.append((why, seconds)))
    assert stats.derivations == 4
    assert told and all(seconds > 0 for _, seconds in told)  # it said it waits, and how long
    with transaction(sessions) as s:  # every derivation's suggestions stored, the goal verdict included
        assert s.scalar(select(func.count(func.distinct(AutoCheck.derivation_id)))) == 4
    engine.dispose()
