"""SymPy suggestions per step (auto_checks).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:07:47.006687
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auto_checks',
    sa.Column('derivation_id', sa.Integer(), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['derivation_id'], ['derivations.id'], name=op.f('fk_auto_checks_derivation_id_derivations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('derivation_id', 'step_index', 'label', name=op.f('pk_auto_checks'))
    )


def downgrade() -> None:
    op.drop_table('auto_checks')
