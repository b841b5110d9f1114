"""An annotator's submitted work counts whatever happens to the derivation after: a reviewer
settling it replaced their labels in the error statistics, and also dropped the annotation
from their "submitted" count and active time (a1 143 -> 141 after two settles). The day
rollups keep, beside the judgements, each annotator's submitted annotations; every
derivation is recomputed once.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:40:00
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE rollup_days ADD COLUMN submitted int NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE rollup_bucket_days ADD COLUMN submitted bigint NOT NULL DEFAULT 0")
    op.execute("INSERT INTO rollup_dirty (derivation_id) SELECT id FROM derivations ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.execute("ALTER TABLE rollup_days DROP COLUMN submitted")
    op.execute("ALTER TABLE rollup_bucket_days DROP COLUMN submitted")
