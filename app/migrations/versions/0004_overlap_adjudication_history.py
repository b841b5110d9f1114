"""Many annotators: project members, blind flag, stratified sample, adjudication with
final labels, active time per annotation; events also name their derivation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:21:58.299815
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_members',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_project_members'))
    )
    op.create_table('adjudications',
    sa.Column('derivation_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('goal_reached', sa.Boolean(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['derivation_id'], ['derivations.id'], name=op.f('fk_adjudications_derivation_id_derivations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_adjudications_reviewer_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('derivation_id', name=op.f('pk_adjudications'))
    )
    op.create_table('sample_items',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('derivation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['derivation_id'], ['derivations.id'], name=op.f('fk_sample_items_derivation_id_derivations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_sample_items_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'derivation_id', name=op.f('pk_sample_items'))
    )
    op.create_table('final_labels',
    sa.Column('derivation_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['derivation_id'], ['adjudications.derivation_id'], name=op.f('fk_final_labels_derivation_id_adjudications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['steps.id'], name=op.f('fk_final_labels_step_id_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('derivation_id', 'step_id', 'label', name=op.f('pk_final_labels'))
    )
    op.add_column('annotation_events', sa.Column('derivation_id', sa.Integer(), nullable=True))
    op.alter_column('annotation_events', 'annotation_id',
               existing_type=sa.INTEGER(),
               nullable=True)
    op.create_index(op.f('ix_annotation_events_derivation_id'), 'annotation_events', ['derivation_id'], unique=False)
    op.create_foreign_key(op.f('fk_annotation_events_derivation_id_derivations'), 'annotation_events', 'derivations', ['derivation_id'], ['id'], ondelete='CASCADE')
    op.execute("UPDATE annotation_events e SET derivation_id = a.derivation_id FROM annotations a "
               "WHERE a.id = e.annotation_id")
    op.add_column('annotations', sa.Column('active_seconds', sa.Double(), server_default='0', nullable=False))
    op.add_column('projects', sa.Column('blind', sa.Boolean(), server_default='true', nullable=False))


def downgrade() -> None:
    op.drop_column('projects', 'blind')
    op.drop_column('annotations', 'active_seconds')
    op.drop_constraint(op.f('fk_annotation_events_derivation_id_derivations'), 'annotation_events', type_='foreignkey')
    op.drop_index(op.f('ix_annotation_events_derivation_id'), table_name='annotation_events')
    op.alter_column('annotation_events', 'annotation_id',
               existing_type=sa.INTEGER(),
               nullable=False)
    op.drop_column('annotation_events', 'derivation_id')
    op.drop_table('final_labels')
    op.drop_table('sample_items')
    op.drop_table('adjudications')
    op.drop_table('project_members')
