"""Which browser tab last wrote an annotation: with its version, lets a stale tab be
told (instead of overwriting silently) while one tab's quick changes never collide.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 23:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('annotations', sa.Column('last_tab', sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column('annotations', 'last_tab')
