"""Projects can be archived (kept, read-only for staff, out of annotators' sight) and deleted;
deleting one cascades through problems, whose parent_id (a perturbed twin's static problem)
had no index, so each deleted problem scanned the table (17-90 s for 1,500 derivations).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 18:10:00
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE projects ADD COLUMN archived_at timestamptz")
    op.execute("CREATE INDEX IF NOT EXISTS ix_problems_parent_id ON problems (parent_id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_problems_parent_id")
    op.execute("ALTER TABLE projects DROP COLUMN archived_at")
