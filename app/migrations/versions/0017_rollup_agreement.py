"""The data page's agreement state per derivation (unannotated, in progress, agreed, disputed,
settled) kept in the dashboards' per-derivation rollup: computed live it cost 1.1 s at 3,000
derivations (every pair of annotations compared step by step). Every derivation is rolled up
again on the next read.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:50:00
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE rollup_derivations ADD COLUMN submitted int NOT NULL DEFAULT 0, "
               "ADD COLUMN disputed boolean NOT NULL DEFAULT false, ADD COLUMN settled boolean NOT NULL DEFAULT false")
    op.execute("INSERT INTO rollup_dirty (derivation_id) SELECT id FROM derivations ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.execute("ALTER TABLE rollup_derivations DROP COLUMN submitted, DROP COLUMN disputed, DROP COLUMN settled")
