"""The foreign keys' per-row queries in a bulk delete: planned once (not once per row), never
with a plan kept from when a table was empty, and only inside the delete's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app.db import transaction
from app.services import trash
from tests.factories import assign, make_derivation, make_project, make_user


def _annotated(session, project, annotator, n: int) -> list[int]:
    derivations = [make_derivation(session, project=project, model="m") for _ in range(n)]
    assign(session, annotator, *derivations)
    return [d.id for d in derivations]


def _events_plans(session) -> list[str]:
    """Plans PostgreSQL used in this transaction for the cascade to annotation_events (from
    auto_explain, sent to this connection as LOG notices)."""
    seen: list[str] = []
    raw = session.connection().connection.driver_connection
    raw.add_notice_handler(lambda notice: seen.append(notice.message_primary or ""))
    for setting in ("LOAD 'auto_explain'", "SET LOCAL auto_explain.log_min_duration = 0",
                    "SET LOCAL auto_explain.log_nested_statements = on", "SET LOCAL client_min_messages = log"):
        session.execute(text(setting))
    return seen


def test_a_plan_made_while_a_table_was_empty_is_not_used_once_it_is_not(committed, fresh_database_url):
    with transaction(committed) as session:
        project = make_project(session)
        ann, boss = make_user(session, username="ann"), make_user(session, username="boss")
        first, second = _annotated(session, project, ann, 8), _annotated(session, project, ann, 8)
        other = _annotated(session, project, ann, 1)[0]
        ids = {"project": project.id, "boss": boss.id}
    admin = create_engine(fresh_database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        try:
            conn.execute(text("LOAD 'auto_explain'"))
        except DBAPIError:  # the embedded server (pgserver) ships without it; CI's PostgreSQL has it
            pytest.skip("this PostgreSQL has no auto_explain to show the plans with")
    with admin.connect() as conn:  # as after a VACUUM of an empty table; and no ANALYZE later to re-plan
        conn.execute(text("ALTER TABLE annotation_events SET (autovacuum_enabled = false)"))
        conn.execute(text("DELETE FROM annotation_events"))
        conn.execute(text("VACUUM ANALYZE annotation_events"))
    admin.dispose()

    with transaction(committed) as session:  # 8 annotations: past the 5 runs after which a plan is kept
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        trash.delete(session, project_id=ids["project"], derivation_ids=first, actor_id=ids["boss"],
                     confirm="delete")
    with transaction(committed) as session:  # the table fills; nothing analyzes it
        session.execute(text("INSERT INTO annotation_events (derivation_id, actor_id, kind, detail) "
                             "SELECT :d, :u, 'note', '{}' FROM generate_series(1, 20000)"),
                        {"d": other, "u": ids["boss"]})
    with transaction(committed) as session:
        assert session.scalar(text("SELECT pg_backend_pid()")) == pid, "not the connection that made the plan"
        rows = session.scalar(text("SELECT (SELECT count(*) FROM steps WHERE derivation_id = ANY(:d)) + "
                                   "(SELECT count(*) FROM annotations WHERE derivation_id = ANY(:d))"), {"d": second})
        plans = _events_plans(session)
        trash.delete(session, project_id=ids["project"], derivation_ids=second, actor_id=ids["boss"],
                     confirm="delete")
        cascades = [p for p in plans if 'DELETE FROM ONLY "public"."annotation_events"' in p]
        assert len(cascades) == len(second) + rows  # its three keys: derivation, annotation, step
        assert not [p for p in cascades if "Seq Scan" in p], cascades[-1]

    with transaction(committed) as session:  # the connection's own setting is back for its next query
        assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
