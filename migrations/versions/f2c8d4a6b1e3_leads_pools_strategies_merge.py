"""leads: two pools (open, lost), weighted and by-field assignment with condition trees, the repeat-enquiry rule,
merged leads

Revision ID: f2c8d4a6b1e3
Revises: e7a3b1c9d2f4
Create Date: 2026-12-03 15:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'f2c8d4a6b1e3'
down_revision = 'e7a3b1c9d2f4'
branch_labels = None
depends_on = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade():
    op.add_column('leads', sa.Column('pool', sa.String(length=10), nullable=True))
    op.add_column('leads', sa.Column('region', sa.String(length=60), nullable=True))
    op.add_column('leads', sa.Column('merged_into_id', sa.BigInteger(), nullable=True))
    op.execute("UPDATE leads SET pool = 'open' WHERE pooled_at IS NOT NULL")
    op.create_check_constraint('ck_leads_known_pool', 'leads', "pool IS NULL OR pool IN ('open', 'lost')")
    op.create_check_constraint('ck_leads_pool_when_pooled', 'leads', "(pool IS NULL) = (pooled_at IS NULL)")
    op.create_foreign_key('fk_leads_tenant_id_merged_into_id_leads', 'leads', 'leads', ['tenant_id', 'merged_into_id'],
                          ['tenant_id', 'id'], ondelete='SET NULL (merged_into_id)')

    op.add_column('lead_assignment_rules', sa.Column('conditions', JSONB, nullable=True))
    op.add_column('lead_assignment_rules', sa.Column('weights', JSONB, server_default='{}', nullable=False))
    op.add_column('lead_assignment_rules', sa.Column('field', sa.String(length=40), nullable=True))
    op.add_column('lead_assignment_rules', sa.Column('field_map', JSONB, server_default='{}', nullable=False))
    op.add_column('lead_assignment_rules', sa.Column('credits', JSONB, server_default='{}', nullable=False))
    op.drop_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules', type_='check')
    op.create_check_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules',
                               "strategy IN ('round_robin', 'least_loaded', 'pool', 'weighted', 'by_field')")

    op.add_column('lead_settings', sa.Column('repeat_mode', sa.String(length=10), server_default='reopen',
                                             nullable=False))
    op.add_column('lead_settings', sa.Column('won_repeat_days', sa.Integer(), server_default='30', nullable=False))
    op.create_check_constraint('ck_lead_settings_known_repeat_mode', 'lead_settings',
                               "repeat_mode IN ('reopen', 'new')")
    op.create_check_constraint('ck_lead_settings_won_days_range', 'lead_settings',
                               'won_repeat_days BETWEEN 0 AND 3650')


def downgrade():
    for name in ('ck_lead_settings_won_days_range', 'ck_lead_settings_known_repeat_mode'):
        op.drop_constraint(name, 'lead_settings', type_='check')
    op.drop_column('lead_settings', 'won_repeat_days')
    op.drop_column('lead_settings', 'repeat_mode')
    op.drop_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules', type_='check')
    op.execute("UPDATE lead_assignment_rules SET strategy = 'round_robin' WHERE strategy IN ('weighted', 'by_field')")
    op.create_check_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules',
                               "strategy IN ('round_robin', 'least_loaded', 'pool')")
    for name in ('credits', 'field_map', 'field', 'weights', 'conditions'):
        op.drop_column('lead_assignment_rules', name)
    op.drop_constraint('fk_leads_tenant_id_merged_into_id_leads', 'leads', type_='foreignkey')
    op.drop_constraint('ck_leads_pool_when_pooled', 'leads', type_='check')
    op.drop_constraint('ck_leads_known_pool', 'leads', type_='check')
    for name in ('merged_into_id', 'region', 'pool'):
        op.drop_column('leads', name)
