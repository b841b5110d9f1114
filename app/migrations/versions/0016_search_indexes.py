"""The data page's text search: trigram indexes on steps' LaTeX and problems' prompts, so
`ILIKE '%\\int%'` is an index scan, not a read of every row. pg_trgm is a contrib extension:
where the server lacks it (the embedded pgserver build) the same search runs unindexed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:40:00
"""
from alembic import op
from sqlalchemy import text

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    available = bind.execute(text("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')")).scalar()
    if available:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_steps_latex_trgm ON steps USING gin (latex gin_trgm_ops)")
        op.execute("CREATE INDEX IF NOT EXISTS ix_problems_prompt_trgm ON problems USING gin (prompt gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_steps_latex_trgm")
    op.execute("DROP INDEX IF EXISTS ix_problems_prompt_trgm")
