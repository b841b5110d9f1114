"""csv_safe(text): a CSV cell a spreadsheet would run as a formula (starting with = + - @,
tab or carriage return) gets a leading apostrophe, as OWASP advises. The CSV exports wrap
every free-text column in it; JSONL and the API keep the text exactly.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:30:00
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # LANGUAGE sql + IMMUTABLE: inlined into the COPY query, no call overhead per row
    op.execute(r"""
        CREATE FUNCTION csv_safe(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN value ~ '^[-=+@\t\r]' THEN '''' || value ELSE value END
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION csv_safe(text)")
