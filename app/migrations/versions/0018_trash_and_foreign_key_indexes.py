"""Undoable deletion of derivations (the data page's bulk Delete): `trash` says who deleted
what and when, `trash_rows` keeps every removed row as JSON until it is restored or expires.
And an index on every foreign key column that had none: without one, each cascaded delete of
a step read the whole annotation_events table, and deleting a project took 17-90 s.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 00:20:00
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# (table, column): foreign keys no index began with (found from pg_constraint at 0017)
UNINDEXED = [
    ("projects", "gold_of"), ("imports", "created_by_id"), ("derivations", "model_id"), ("derivations", "import_id"),
    ("annotation_events", "step_id"), ("annotation_events", "actor_id"), ("generation_runs", "model_id"),
    ("generation_runs", "created_by_id"), ("project_members", "user_id"), ("adjudications", "reviewer_id"),
    ("sample_items", "derivation_id"), ("final_labels", "step_id"), ("export_files", "created_by_id"),
    ("step_notes", "step_id"), ("step_corrections", "author_id"),
]


def upgrade() -> None:
    for table, column in UNINDEXED:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_{column} ON {table} ({column})")
    op.execute("""
CREATE TABLE trash (
    id serial CONSTRAINT pk_trash PRIMARY KEY,
    project_id int NOT NULL CONSTRAINT fk_trash_project_id_projects REFERENCES projects(id) ON DELETE CASCADE,
    deleted_by_id int CONSTRAINT fk_trash_deleted_by_id_users REFERENCES users(id) ON DELETE SET NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    derivations int NOT NULL,
    annotations int NOT NULL,
    view text NOT NULL DEFAULT '',
    sample_ids jsonb NOT NULL DEFAULT '[]'
)""")
    op.execute("CREATE INDEX ix_trash_project_id ON trash (project_id)")
    op.execute("CREATE INDEX ix_trash_deleted_by_id ON trash (deleted_by_id)")
    op.execute("""
CREATE TABLE trash_rows (  -- no key of its own: rows are read back by entry and table, never one by one
    trash_id int NOT NULL CONSTRAINT fk_trash_rows_trash_id_trash REFERENCES trash(id) ON DELETE CASCADE,
    table_name text NOT NULL,
    row jsonb NOT NULL
)""")
    op.execute("CREATE INDEX ix_trash_rows_trash_id_table_name ON trash_rows (trash_id, table_name)")


def downgrade() -> None:
    op.execute("DROP TABLE trash_rows")
    op.execute("DROP TABLE trash")
    for table, column in UNINDEXED:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}")
