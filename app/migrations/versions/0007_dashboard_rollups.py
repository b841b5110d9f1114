"""Maintained rollups for the dashboards.

Triggers mark a derivation "dirty" whenever something it is counted from changes
(derivations, steps, submitted annotations and their labels, adjudications, final
labels, SymPy checks). Before a dashboard is read, app.repositories.rollups.refresh
recomputes the dirty derivations' rows and moves the bucket totals (per project,
model and perturbation) by new minus old, so a dashboard reads a few dozen bucket rows
whatever the size of the data. The tables are written only by SQL (no ORM models).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_BUCKET = "project_id int NOT NULL, model_id int NOT NULL, perturbation text NOT NULL"

_TABLES = f"""
CREATE TABLE rollup_dirty (derivation_id int PRIMARY KEY, marked_at timestamptz NOT NULL DEFAULT now());
-- every read first asks whether anything is dirty: after a bulk load the rows just
-- claimed are dead tuples that scan slowly until vacuumed, so vacuum it early
ALTER TABLE rollup_dirty SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);

-- one row per derivation (no foreign keys: a deleted derivation's old row is still
-- needed to subtract it from its bucket)
CREATE TABLE rollup_derivations (
    derivation_id int PRIMARY KEY, {_BUCKET},
    steps int NOT NULL, judgements int NOT NULL, goal_yes int NOT NULL, goal_judged int NOT NULL,
    labelled int NOT NULL, rouge2 float8, bleu float8, gleu float8);
CREATE INDEX ix_rollup_derivations_points ON rollup_derivations (project_id, model_id, hashint4(derivation_id))
    WHERE judgements > 0;  -- the scatter's sample

CREATE TABLE rollup_labels (
    derivation_id int NOT NULL, label text NOT NULL, {_BUCKET},
    steps int NOT NULL, judgements int NOT NULL,
    tp int NOT NULL, fp int NOT NULL, fn int NOT NULL, tn int NOT NULL, unknown int NOT NULL,
    PRIMARY KEY (derivation_id, label));
CREATE INDEX ix_rollup_labels_fp ON rollup_labels (project_id, label, derivation_id) WHERE fp > 0;
CREATE INDEX ix_rollup_labels_fn ON rollup_labels (project_id, label, derivation_id) WHERE fn > 0;

CREATE TABLE rollup_days (
    derivation_id int NOT NULL, annotator_id int NOT NULL, day date NOT NULL, {_BUCKET},
    judgements int NOT NULL, active_seconds float8 NOT NULL,
    PRIMARY KEY (derivation_id, annotator_id, day));

-- the buckets: sums of the rows above (numeric sums, so adding and subtracting the
-- same float values leaves no drift)
CREATE TABLE rollup_buckets (
    {_BUCKET},
    derivations bigint NOT NULL, steps bigint NOT NULL, annotated bigint NOT NULL, judgements bigint NOT NULL,
    judged_steps bigint NOT NULL, goal_yes bigint NOT NULL, goal_judged bigint NOT NULL, labelled bigint NOT NULL,
    rouge2_sum numeric NOT NULL, rouge2_n bigint NOT NULL, bleu_sum numeric NOT NULL, bleu_n bigint NOT NULL,
    gleu_sum numeric NOT NULL, gleu_n bigint NOT NULL,
    PRIMARY KEY (project_id, model_id, perturbation));

CREATE TABLE rollup_bucket_labels (
    {_BUCKET}, label text NOT NULL,
    steps bigint NOT NULL, judgements bigint NOT NULL,
    tp bigint NOT NULL, fp bigint NOT NULL, fn bigint NOT NULL, tn bigint NOT NULL, unknown bigint NOT NULL,
    PRIMARY KEY (project_id, model_id, perturbation, label));

CREATE TABLE rollup_bucket_days (
    {_BUCKET}, annotator_id int NOT NULL, day date NOT NULL,
    judgements bigint NOT NULL, active_seconds numeric NOT NULL,
    PRIMARY KEY (project_id, model_id, perturbation, annotator_id, day));

-- Spearman's rho per model is O(n) by nature: cached, marked stale when a derivation
-- of that model changes, recomputed on a read at most once a minute (stale values are
-- shown with their time meanwhile). perturbation '' = all of them.
CREATE TABLE rollup_spearman (
    project_id int NOT NULL, model_id int NOT NULL, perturbation text NOT NULL,
    derivations bigint NOT NULL, rouge2 float8, bleu float8, gleu float8,
    stale boolean NOT NULL DEFAULT false, computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, model_id, perturbation));
"""

# Marking: statement-level triggers with transition tables (one INSERT per statement,
# so a bulk load of a million labels costs one set-based insert). DISTINCT + ORDER BY:
# ON CONFLICT DO UPDATE may touch a row once per statement, and a fixed order keeps
# two writers from deadlocking. DO UPDATE (not DO NOTHING) takes the row lock, so a
# refresh running meanwhile skips the row and it stays dirty until it is recomputed
# with this transaction's changes.
_MARK = "ON CONFLICT (derivation_id) DO UPDATE SET marked_at = now()"
_FUNCTIONS = {
    "rollup_mark_by_derivation": "SELECT DISTINCT derivation_id FROM changed ORDER BY 1",
    "rollup_mark_derivations": "SELECT DISTINCT id FROM changed ORDER BY 1",
    "rollup_mark_step_labels": """SELECT DISTINCT a.derivation_id FROM changed c
        JOIN annotations a ON a.id = c.annotation_id WHERE a.status = 'submitted' ORDER BY 1""",
    "rollup_mark_annotations": "SELECT DISTINCT derivation_id FROM changed WHERE status = 'submitted' ORDER BY 1",
    "rollup_mark_annotation_updates": """SELECT DISTINCT n.derivation_id FROM new_rows n
        JOIN old_rows o ON o.id = n.id WHERE n.status = 'submitted' OR o.status = 'submitted' ORDER BY 1""",
}

# table -> (function for INSERT/DELETE, function for UPDATE or None)
_TRIGGERS = {
    "derivations": ("rollup_mark_derivations", "rollup_mark_derivations"),
    "steps": ("rollup_mark_by_derivation", None),
    "annotations": ("rollup_mark_annotations", "rollup_mark_annotation_updates"),
    "step_labels": ("rollup_mark_step_labels", "rollup_mark_step_labels"),
    "adjudications": ("rollup_mark_by_derivation", "rollup_mark_by_derivation"),
    "final_labels": ("rollup_mark_by_derivation", "rollup_mark_by_derivation"),
    "auto_checks": ("rollup_mark_by_derivation", "rollup_mark_by_derivation"),
}


def upgrade() -> None:
    op.execute(_TABLES)
    for name, select in _FUNCTIONS.items():
        op.execute(f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO rollup_dirty (derivation_id) {select} {_MARK};
                RETURN NULL;
            END $$""")
    for table, (changed, updated) in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {table}_rollup_insert AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {changed}()")
        op.execute(f"CREATE TRIGGER {table}_rollup_delete AFTER DELETE ON {table} "
                   f"REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {changed}()")
        if updated == "rollup_mark_annotation_updates":
            op.execute(f"CREATE TRIGGER {table}_rollup_update AFTER UPDATE ON {table} "
                       f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {updated}()")
        elif updated:
            op.execute(f"CREATE TRIGGER {table}_rollup_update AFTER UPDATE ON {table} "
                       f"REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {updated}()")
    # what is already there gets counted on the first read
    op.execute("INSERT INTO rollup_dirty (derivation_id) SELECT id FROM derivations")


def downgrade() -> None:
    for table, (_, updated) in _TRIGGERS.items():
        for event in ("insert", "delete") + (("update",) if updated else ()):
            op.execute(f"DROP TRIGGER {table}_rollup_{event} ON {table}")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE rollup_dirty, rollup_derivations, rollup_labels, rollup_days, rollup_buckets, "
               "rollup_bucket_labels, rollup_bucket_days, rollup_spearman")
