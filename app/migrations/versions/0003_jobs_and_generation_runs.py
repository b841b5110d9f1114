"""Job queue (jobs) and generation runs; derivations remember their run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:07:42.702609
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('generation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('backend', sa.String(length=20), nullable=False),
    sa.Column('model_path', sa.String(length=1000), nullable=False),
    sa.Column('decoding', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('perturbations', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_generation_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['model_id'], ['llm_models.id'], name=op.f('fk_generation_runs_model_id_llm_models')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_generation_runs_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generation_runs'))
    )
    op.create_index(op.f('ix_generation_runs_project_id'), 'generation_runs', ['project_id'], unique=False)
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='job_state'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('worker_id', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['generation_runs.id'], name=op.f('fk_jobs_run_id_generation_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index('ix_jobs_claim', 'jobs', ['state', 'kind', 'id'], unique=False)
    op.create_index('ix_jobs_run_id', 'jobs', ['run_id'], unique=False)
    op.add_column('derivations', sa.Column('run_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_derivations_run_id'), 'derivations', ['run_id'], unique=False)
    op.create_foreign_key(op.f('fk_derivations_run_id_generation_runs'), 'derivations', 'generation_runs', ['run_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_derivations_run_id_generation_runs'), 'derivations', type_='foreignkey')
    op.drop_index(op.f('ix_derivations_run_id'), table_name='derivations')
    op.drop_column('derivations', 'run_id')
    op.drop_index('ix_jobs_run_id', table_name='jobs')
    op.drop_index('ix_jobs_claim', table_name='jobs')
    op.drop_table('jobs')
    op.drop_index(op.f('ix_generation_runs_project_id'), table_name='generation_runs')
    op.drop_table('generation_runs')
    sa.Enum(name='job_state').drop(op.get_bind())
