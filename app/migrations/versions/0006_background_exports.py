"""Exports prepared in the background by a worker, stored in chunks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:43:39.086951
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_export_files_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_export_files_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_files'))
    )
    op.create_index(op.f('ix_export_files_project_id'), 'export_files', ['project_id'], unique=False)
    op.create_table('export_chunks',
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['export_files.id'], name=op.f('fk_export_chunks_export_id_export_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'n', name=op.f('pk_export_chunks'))
    )


def downgrade() -> None:
    op.drop_table('export_chunks')
    op.drop_index(op.f('ix_export_files_project_id'), table_name='export_files')
    op.drop_table('export_files')
