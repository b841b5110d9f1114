"""Steps a source left without a label (ProcessBench's steps after the first error, PRM800K's
unrated steps): kept apart from "no error label", which means correct.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 02:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('step_notes', sa.Column('unlabelled', sa.Boolean(), nullable=False, server_default='false'))


def downgrade() -> None:
    op.drop_column('step_notes', 'unlabelled')
