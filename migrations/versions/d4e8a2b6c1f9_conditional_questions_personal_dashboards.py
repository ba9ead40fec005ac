"""Conditional survey questions with reason categories (and the questions of past versions); personal dashboards

Revision ID: d4e8a2b6c1f9
Revises: c3f9a7e1d5b2
Create Date: 2026-12-03 18:30:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'd4e8a2b6c1f9'
down_revision = 'c3f9a7e1d5b2'
branch_labels = None
depends_on = None


def upgrade():
    # the questions of every earlier version, {"<version>": [...]}: an invitation is answered as it was sent
    op.add_column('surveys', sa.Column('past_questions', postgresql.JSONB(astext_type=sa.Text()),
                                       server_default='{}', nullable=False))
    # a reason category picked (a "choice" question) has no score
    op.add_column('survey_answers', sa.Column('choice', sa.String(length=40), nullable=True))
    op.alter_column('survey_answers', 'score', existing_type=sa.SmallInteger(), nullable=True)
    op.create_check_constraint('score_or_choice', 'survey_answers', 'score IS NOT NULL OR choice IS NOT NULL')

    # a personal dashboard belongs to one user (owner_id); `home`: the one their home page shows
    op.add_column('dashboards', sa.Column('owner_id', sa.BigInteger(), nullable=True))
    op.add_column('dashboards', sa.Column('home', sa.Boolean(), server_default='false', nullable=False))
    op.create_foreign_key(op.f('fk_dashboards_tenant_id_owner_id_users'), 'dashboards', 'users',
                          ['tenant_id', 'owner_id'], ['tenant_id', 'id'], ondelete='CASCADE')
    op.create_index('ix_dashboards_tenant_owner', 'dashboards', ['tenant_id', 'owner_id'], unique=False)
    op.create_index('uq_dashboards_tenant_owner_home', 'dashboards', ['tenant_id', 'owner_id'], unique=True,
                    postgresql_where=sa.text('home'))


def downgrade():
    op.drop_index('uq_dashboards_tenant_owner_home', table_name='dashboards')
    op.drop_index('ix_dashboards_tenant_owner', table_name='dashboards')
    op.drop_constraint(op.f('fk_dashboards_tenant_id_owner_id_users'), 'dashboards', type_='foreignkey')
    op.drop_column('dashboards', 'home')
    op.drop_column('dashboards', 'owner_id')
    op.drop_constraint('score_or_choice', 'survey_answers', type_='check')
    op.execute("DELETE FROM survey_answers WHERE score IS NULL")
    op.alter_column('survey_answers', 'score', existing_type=sa.SmallInteger(), nullable=False)
    op.drop_column('survey_answers', 'choice')
    op.drop_column('surveys', 'past_questions')
