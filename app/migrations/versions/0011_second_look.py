"""A second look: skips the queue remembers, resubmission after a change, step notes and
"unsure" flags, project guidelines; sessions that logout and password changes end,
deactivated accounts, API tokens that expire.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('annotations', sa.Column('skipped_at', sa.DateTime(timezone=True), nullable=True))
    # The version that was submitted: a later version means "changed since, submit again".
    op.add_column('annotations', sa.Column('submitted_version', sa.Integer(), nullable=True))
    op.execute("UPDATE annotations SET submitted_version = version WHERE status = 'submitted'")
    op.add_column('users', sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('users', sa.Column('active', sa.Boolean(), nullable=False, server_default='true'))
    op.add_column('api_tokens', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('projects', sa.Column('guidelines', sa.Text(), nullable=False, server_default=''))
    # Next serves derivations in this order: a hash of (project, id), so models and problems
    # interleave whatever order the import file had (blind mode must not leak the model by position).
    op.execute("ALTER TABLE derivations ADD COLUMN queue_rank integer GENERATED ALWAYS AS "
               "(('x' || substr(md5(project_id::text || ':' || id::text), 1, 8))::bit(32)::integer) STORED")
    op.create_index('ix_derivations_queue', 'derivations', ['project_id', 'queue_rank', 'id'])
    op.create_table(
        'step_notes',
        sa.Column('annotation_id', sa.Integer(), sa.ForeignKey('annotations.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('step_id', sa.Integer(), sa.ForeignKey('steps.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('note', sa.Text(), nullable=False, server_default=''),
        sa.Column('unsure', sa.Boolean(), nullable=False, server_default='false'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table('step_notes')
    op.drop_index('ix_derivations_queue', table_name='derivations')
    op.drop_column('derivations', 'queue_rank')
    op.drop_column('projects', 'guidelines')
    op.drop_column('api_tokens', 'expires_at')
    op.drop_column('users', 'active')
    op.drop_column('users', 'session_generation')
    op.drop_column('annotations', 'submitted_version')
    op.drop_column('annotations', 'skipped_at')
