"""What the data page filters on, kept on the rollup's row per derivation: the labels the
humans gave, the labels SymPy says where humans do not (and the reverse), the labels SymPy
says, whether it said "unknown", and who submitted. At 100,000 derivations a broad filter
("SymPy incorrect, humans not": 91,667 match) joined 91,667 label rows for its page and again
for its count (~100 ms each); read from one row it is a test per row. Every derivation is
rolled up again on the next read. And an index per sort of the data page.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 01:00:00
"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

COLUMNS = {"human_labels": "text[]", "fp_labels": "text[]", "fn_labels": "text[]", "sympy_labels": "text[]",
           "annotators": "int[]"}


# The data page's sorts, each an index walked in order until a page is full: a broad filter
# (91,667 of 100,000 match) stops after ~55 rows instead of sorting them all. Metrics may be
# missing (not scored yet) and sort last both ways, so they need an index per direction.
SORTS = {"id": ["derivation_id"], "steps": ["steps, derivation_id"], "submitted": ["submitted, derivation_id"],
         **{m: [f"{m}, derivation_id", f"{m} DESC NULLS LAST, derivation_id DESC"] for m in ("rouge2", "bleu", "gleu")}}


def upgrade() -> None:
    op.execute("ALTER TABLE rollup_derivations "
               + ", ".join(f"ADD COLUMN {c} {t} NOT NULL DEFAULT '{{}}'" for c, t in COLUMNS.items())
               + ", ADD COLUMN sympy_unknown boolean NOT NULL DEFAULT false")
    for name, orders in SORTS.items():
        for n, order in enumerate(orders):
            op.execute(f"CREATE INDEX ix_rollup_derivations_sort_{name}{'_desc' if n else ''} "
                       f"ON rollup_derivations (project_id, {order})")
    op.execute("INSERT INTO rollup_dirty (derivation_id) SELECT id FROM derivations ON CONFLICT DO NOTHING")


def downgrade() -> None:
    for name, orders in SORTS.items():
        for n, _ in enumerate(orders):
            op.execute(f"DROP INDEX ix_rollup_derivations_sort_{name}{'_desc' if n else ''}")
    op.execute("ALTER TABLE rollup_derivations " + ", ".join(f"DROP COLUMN {c}" for c in COLUMNS)
               + ", DROP COLUMN sympy_unknown")
