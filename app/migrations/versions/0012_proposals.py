"""SymPy's proposed correct steps, the corrections reviewers settle on, the queue's strategy,
predictions pushed by other suggestion sources, and gold items.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'step_proposals',
        sa.Column('derivation_id', sa.Integer(), sa.ForeignKey('derivations.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('step_index', sa.Integer(), primary_key=True),
        sa.Column('latex', sa.Text(), nullable=False),
        sa.Column('operation', sa.Text(), nullable=False),
        sa.Column('source', sa.Integer(), nullable=True),
        sa.Column('from_reference', sa.Boolean(), nullable=False, server_default='false'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        'step_corrections',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('derivation_id', sa.Integer(), sa.ForeignKey('derivations.id', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('step_id', sa.Integer(), sa.ForeignKey('steps.id', ondelete='CASCADE'), nullable=False),
        sa.Column('author_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('latex', sa.Text(), nullable=False),
        sa.Column('from_proposal', sa.Boolean(), nullable=False, server_default='false'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint('step_id', 'author_id', name='uq_step_corrections_step_id_author_id'),
    )


    op.create_table(
        'predictions',
        sa.Column('source', sa.String(80), primary_key=True),
        sa.Column('derivation_id', sa.Integer(), sa.ForeignKey('derivations.id', ondelete='CASCADE'),
                  primary_key=True, index=True),
        sa.Column('step_index', sa.Integer(), primary_key=True),
        sa.Column('label', sa.String(40), primary_key=True),
        sa.Column('verdict', sa.String(10), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False, server_default=''),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column('projects', sa.Column('queue_strategy', sa.String(20), nullable=False,
                                        server_default='interleaved'))
    op.add_column('projects', sa.Column('gold_of', sa.Integer(), sa.ForeignKey('projects.id', ondelete='CASCADE'),
                                        nullable=True))
    op.add_column('projects', sa.Column('gold_rate', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('projects', sa.Column('onboarding_gold', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('derivations', sa.Column('gold_truth', postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column('derivations', 'gold_truth')
    op.drop_column('projects', 'onboarding_gold')
    op.drop_column('projects', 'gold_rate')
    op.drop_column('projects', 'gold_of')
    op.drop_column('projects', 'queue_strategy')
    op.drop_table('predictions')
    op.drop_table('step_corrections')
    op.drop_table('step_proposals')
