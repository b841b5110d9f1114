"""Job priority: interactive work (an export, a single re-check) is claimed before
bulk work (the checks of a 15,000-derivation import) that was queued earlier.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('priority', sa.SmallInteger(), nullable=False, server_default='0'))
    op.drop_index('ix_jobs_claim', table_name='jobs')
    # The claim walks this in order: only unfinished jobs are in it, most urgent first.
    op.execute("CREATE INDEX ix_jobs_claim ON jobs (priority DESC, id) WHERE state IN ('queued', 'running')")


def downgrade() -> None:
    op.drop_index('ix_jobs_claim', table_name='jobs')
    op.create_index('ix_jobs_claim', 'jobs', ['state', 'kind', 'id'])
    op.drop_column('jobs', 'priority')
