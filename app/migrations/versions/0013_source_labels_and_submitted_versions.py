"""Steps a source left without a label (ProcessBench's steps after the first error, PRM800K's
unrated steps): kept apart from "no error label", which means correct. And the submitted
version of each annotation (its labels, goal and comment when last submitted), which exports
read, so a reopened change nobody submitted never reaches them. And what a source said about
each output beyond its text.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 02:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('step_notes', sa.Column('unlabelled', sa.Boolean(), nullable=False, server_default='false'))
    op.create_table(
        'submitted_step_labels',
        sa.Column('annotation_id', sa.Integer(), sa.ForeignKey('annotations.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('step_id', sa.Integer(), sa.ForeignKey('steps.id', ondelete='CASCADE'), primary_key=True,
                  index=True),
        sa.Column('label', sa.String(40), primary_key=True),
    )
    # what a source said about an output beyond its text (lm-eval's task, doc, target, metrics, ...)
    op.add_column('derivations', sa.Column('source_record', postgresql.JSONB(), nullable=True))
    op.add_column('annotations', sa.Column('submitted_goal_reached', sa.Boolean(), nullable=True))
    op.add_column('annotations', sa.Column('submitted_comment', sa.Text(), nullable=True))
    # what was submitted before this is the best record there is of it: the labels now
    op.execute("""INSERT INTO submitted_step_labels (annotation_id, step_id, label)
                  SELECT sl.annotation_id, sl.step_id, sl.label FROM step_labels sl
                  JOIN annotations a ON a.id = sl.annotation_id WHERE a.status = 'submitted'""")
    op.execute("""UPDATE annotations SET submitted_goal_reached = goal_reached, submitted_comment = comment
                  WHERE status = 'submitted'""")


def downgrade() -> None:
    op.drop_column('annotations', 'submitted_comment')
    op.drop_column('annotations', 'submitted_goal_reached')
    op.drop_table('submitted_step_labels')
    op.drop_column('derivations', 'source_record')
    op.drop_column('step_notes', 'unlabelled')
