"""Synthetic projects for the dashboard and export benchmarks: the math engine's
problems (with their four perturbations), fake model outputs, and labels from two
annotators, written with set-based SQL so a million labels take seconds."""

from __future__ import annotations

import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db import database_url, make_engine, make_sessionmaker, transaction, upgrade  # noqa: E402
from app.services.problems import generate_problems  # noqa: E402

STEPS = 5  # per derivation; each annotator labels every other step once -> 5 labels per derivation


@contextmanager
def scratch_database(prefix: str):
    """A migrated database of its own on DATABASE_URL's server (or the embedded one), dropped after."""
    server = database_url(Settings(_env_file=None, database_url=os.environ.get("DATABASE_URL")))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = None
    try:
        upgrade(url)
        engine = make_engine(url)
        yield url, make_sessionmaker(engine)
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(sessions, *, project: str, labels: int, engine_problems: int = 40, derivations: int | None = None,
         annotate: bool = True) -> int:
    """A project with about `labels` step labels (or `derivations` derivations, with
    annotate=False: none annotated yet, an annotation queue); returns its id."""
    derivations = derivations or max(labels // 5, 1)
    with transaction(sessions) as session:
        generate_problems(session, project_name=project, count=engine_problems, seed=1,
                          perturbations=("VR", "EE", "AG", "SR"))
    with transaction(sessions) as session:
        params = {"project": project, "n": derivations}
        project_id = session.execute(text("SELECT id FROM projects WHERE name = :project"), params).scalar_one()
        params["pid"] = project_id
        session.execute(text("INSERT INTO llm_models (name) SELECT 'fake-model-' || g FROM generate_series(1, 3) g "
                             "ON CONFLICT DO NOTHING"))
        session.execute(text("INSERT INTO users (username, password_hash, role) SELECT 'bench-' || g, 'x', 'annotator' "
                             "FROM generate_series(1, 2) g ON CONFLICT DO NOTHING"))
        session.execute(text("""
            WITH problems AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS total
                              FROM problems WHERE project_id = :pid),
                 models AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM llm_models
                            WHERE name LIKE 'fake-model-%')
            INSERT INTO derivations (project_id, problem_id, model_id, raw_text, source, content_hash, metrics)
            SELECT :pid, p.id, m.id, 'x = ' || g, 'import', md5(:pid || ':' || g),
                   jsonb_build_object('rouge2', (g % 97) / 97.0, 'bleu', (g % 89) / 89.0, 'gleu', (g % 83) / 83.0)
            FROM generate_series(0, :n - 1) g
            JOIN problems p ON p.k = g % p.total
            JOIN models m ON m.k = g % 3
        """), params)
        session.execute(text(f"""
            INSERT INTO steps (derivation_id, index, latex, parse_status)
            SELECT d.id, i, 'x_' || i || ' = ' || d.id, 'parsed'
            FROM derivations d, generate_series(1, {STEPS}) i WHERE d.project_id = :pid
        """), params)
        if not annotate:
            session.execute(text("ANALYZE"))
            return project_id
        session.execute(text("""
            INSERT INTO annotations (derivation_id, annotator_id, status, goal_reached, comment, version, submitted_at,
                                     active_seconds)
            SELECT d.id, u.id, 'submitted', (d.id + u.id) % 3 = 0, '', 2,
                   now() - ((d.id % 30) || ' days')::interval, 30 + d.id % 60
            FROM derivations d, (SELECT id FROM users WHERE username LIKE 'bench-%') u WHERE d.project_id = :pid
        """), params)
        session.execute(text("""
            INSERT INTO step_labels (annotation_id, step_id, label)
            SELECT a.id, s.id, (ARRAY['incorrect', 'irrelevant', 'redundant', 'skipped'])[1 + (s.id + a.annotator_id) % 4]
            FROM annotations a JOIN derivations d ON d.id = a.derivation_id AND d.project_id = :pid
            JOIN steps s ON s.derivation_id = d.id
            WHERE (s.index + a.annotator_id) % 2 = 0
        """), params)
        session.execute(text("""
            INSERT INTO submitted_step_labels (annotation_id, step_id, label)
            SELECT sl.annotation_id, sl.step_id, sl.label FROM step_labels sl
            JOIN annotations a ON a.id = sl.annotation_id JOIN derivations d ON d.id = a.derivation_id
            WHERE d.project_id = :pid
        """), params)
        session.execute(text("""
            UPDATE annotations a SET submitted_goal_reached = a.goal_reached, submitted_comment = a.comment
            FROM derivations d WHERE d.id = a.derivation_id AND d.project_id = :pid
        """), params)
        session.execute(text("""
            INSERT INTO auto_checks (derivation_id, step_index, label, verdict, reason)
            SELECT s.derivation_id, s.index, 'incorrect', CASE WHEN s.id % 3 = 0 THEN 'yes' ELSE 'no' END, ''
            FROM steps s JOIN derivations d ON d.id = s.derivation_id AND d.project_id = :pid
        """), params)
        session.execute(text("ANALYZE"))
    return project_id


def count_labels(sessions, project_id: int) -> int:
    with transaction(sessions) as session:
        return session.execute(text("""SELECT count(*) FROM step_labels sl JOIN annotations a ON a.id = sl.annotation_id
                                       JOIN derivations d ON d.id = a.derivation_id WHERE d.project_id = :pid"""),
                               {"pid": project_id}).scalar_one()
