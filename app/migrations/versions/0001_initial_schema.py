"""Initial schema: users, projects, models, problems, derivations, steps, annotations, history.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 06:33:24.479033
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('llm_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_llm_models')),
    sa.UniqueConstraint('name', name=op.f('uq_llm_models_name'))
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('taxonomy', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('overlap', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'annotator', 'reviewer', name='role'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('derivations_added', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_imports_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports')),
    sa.UniqueConstraint('project_id', 'sha256', name=op.f('uq_imports_project_id_sha256'))
    )
    op.create_table('problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('perturbation', sa.Enum('static', 'VR', 'EE', 'AG', 'SR', name='perturbation'), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('premises', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('intermediates', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('goal', sa.Text(), nullable=True),
    sa.Column('reference', sa.Text(), nullable=True),
    sa.Column('reference_srepr', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['problems.id'], name=op.f('fk_problems_parent_id_problems'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_problems_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problems')),
    sa.UniqueConstraint('project_id', 'key', 'perturbation', name=op.f('uq_problems_project_id_key_perturbation'))
    )
    op.create_table('derivations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('raw_text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('metrics', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_derivations_import_id_imports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['model_id'], ['llm_models.id'], name=op.f('fk_derivations_model_id_llm_models')),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_derivations_problem_id_problems'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_derivations_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_derivations')),
    sa.UniqueConstraint('project_id', 'content_hash', name=op.f('uq_derivations_project_id_content_hash'))
    )
    op.create_index(op.f('ix_derivations_problem_id'), 'derivations', ['problem_id'], unique=False)
    op.create_index('ix_derivations_project_model', 'derivations', ['project_id', 'model_id'], unique=False)
    op.create_table('annotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('derivation_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('in_progress', 'submitted', name='annotation_status'), nullable=False),
    sa.Column('goal_reached', sa.Boolean(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['annotator_id'], ['users.id'], name=op.f('fk_annotations_annotator_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['derivation_id'], ['derivations.id'], name=op.f('fk_annotations_derivation_id_derivations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotations')),
    sa.UniqueConstraint('derivation_id', 'annotator_id', name=op.f('uq_annotations_derivation_id_annotator_id'))
    )
    op.create_index('ix_annotations_annotator_status', 'annotations', ['annotator_id', 'status'], unique=False)
    op.create_table('steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('derivation_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('latex', sa.Text(), nullable=False),
    sa.Column('parse_status', sa.Enum('pending', 'parsed', 'unparsed', name='parse_status'), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['derivation_id'], ['derivations.id'], name=op.f('fk_steps_derivation_id_derivations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_steps')),
    sa.UniqueConstraint('derivation_id', 'index', name=op.f('uq_steps_derivation_id_index'))
    )
    op.create_table('annotation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_annotation_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_annotation_events_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['steps.id'], name=op.f('fk_annotation_events_step_id_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annotation_events'))
    )
    op.create_index(op.f('ix_annotation_events_annotation_id'), 'annotation_events', ['annotation_id'], unique=False)
    op.create_table('step_labels',
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_step_labels_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['steps.id'], name=op.f('fk_step_labels_step_id_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('annotation_id', 'step_id', 'label', name=op.f('pk_step_labels'))
    )
    op.create_index(op.f('ix_step_labels_step_id'), 'step_labels', ['step_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_step_labels_step_id'), table_name='step_labels')
    op.drop_table('step_labels')
    op.drop_index(op.f('ix_annotation_events_annotation_id'), table_name='annotation_events')
    op.drop_table('annotation_events')
    op.drop_table('steps')
    op.drop_index('ix_annotations_annotator_status', table_name='annotations')
    op.drop_table('annotations')
    op.drop_index('ix_derivations_project_model', table_name='derivations')
    op.drop_index(op.f('ix_derivations_problem_id'), table_name='derivations')
    op.drop_table('derivations')
    op.drop_table('problems')
    op.drop_table('imports')
    op.drop_table('users')
    op.drop_table('projects')
    op.drop_table('llm_models')
    # Autogenerate leaves the enum types behind; drop them so upgrade works again.
    for name in ("annotation_status", "parse_status", "perturbation", "role"):
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
