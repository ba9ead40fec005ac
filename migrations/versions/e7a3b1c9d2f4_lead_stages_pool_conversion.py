"""leads: tenant stages with time in stage, the public pool (公海) with claim limits, what a conversion made

Revision ID: e7a3b1c9d2f4
Revises: b7d2c4e6f813
Create Date: 2026-12-03 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from storecrm.tenancy.ddl import enable_rls

revision = 'e7a3b1c9d2f4'
down_revision = 'b7d2c4e6f813'
branch_labels = None
depends_on = None

TABLES = ("lead_stages", "lead_stage_visits", "lead_settings")


def _base():
    return [sa.Column('tenant_id', sa.BigInteger(), nullable=False),
            sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False)]


def _tail(name, *, timestamps=False):
    cols = []
    if timestamps:
        cols += [sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
                 sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]
    return cols + [
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=f'fk_{name}_tenant_id_tenants', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=f'pk_{name}'),
    ]


def _fk(table, column, target, ondelete=None):
    if ondelete == "SET NULL":
        ondelete = f"SET NULL ({column})"
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=f'fk_{table}_tenant_id_{column}_{target}', ondelete=ondelete)


def upgrade():
    op.create_table('lead_stages', *_base(),
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('position', sa.Integer(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.UniqueConstraint('tenant_id', 'name', name='uq_lead_stages_tenant_id_name'),
                    *_tail('lead_stages', timestamps=True))
    op.create_index('ix_lead_stages_tenant_position', 'lead_stages', ['tenant_id', 'position'])

    op.create_table('lead_stage_visits', *_base(),
                    sa.Column('lead_id', sa.BigInteger(), nullable=False),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('stage_id', sa.BigInteger(), nullable=True),
                    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
                    _fk('lead_stage_visits', 'lead_id', 'leads', 'CASCADE'),
                    _fk('lead_stage_visits', 'stage_id', 'lead_stages', 'SET NULL'),
                    *_tail('lead_stage_visits'))
    op.create_index('ix_lead_stage_visits_tenant_lead', 'lead_stage_visits', ['tenant_id', 'lead_id', 'entered_at'])

    op.create_table('lead_settings', *_base(),
                    sa.Column('pool_after_hours', sa.Integer(), nullable=False),
                    sa.Column('claims_per_day', sa.Integer(), nullable=False),
                    sa.CheckConstraint('pool_after_hours BETWEEN 1 AND 720', name='ck_lead_settings_pool_hours_range'),
                    sa.CheckConstraint('claims_per_day BETWEEN 1 AND 500', name='ck_lead_settings_claims_range'),
                    sa.UniqueConstraint('tenant_id', name='uq_lead_settings_tenant_id'),
                    *_tail('lead_settings', timestamps=True))

    for name, type_ in (('stage_id', sa.BigInteger()), ('stage_entered_at', sa.DateTime(timezone=True)),
                        ('pooled_at', sa.DateTime(timezone=True)), ('pool_reason', sa.String(length=20)),
                        ('touched_at', sa.DateTime(timezone=True)), ('asset_id', sa.BigInteger()),
                        ('quote_id', sa.BigInteger())):
        op.add_column('leads', sa.Column(name, type_, nullable=True))
    for column, target in (('stage_id', 'lead_stages'), ('asset_id', 'assets'), ('quote_id', 'sales_documents')):
        op.create_foreign_key(f'fk_leads_tenant_id_{column}_{target}', 'leads', target, ['tenant_id', column],
                              ['tenant_id', 'id'], ondelete=f'SET NULL ({column})')
    op.create_index('ix_leads_tenant_pooled', 'leads', ['tenant_id', 'pooled_at'],
                    postgresql_where=sa.text('pooled_at IS NOT NULL'))
    op.create_index('ix_lead_history_tenant_claims', 'lead_history', ['tenant_id', 'user_id', 'at'],
                    postgresql_where=sa.text("kind = 'claimed'"))
    # a rule may send its leads straight to the pool
    op.drop_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules', type_='check')
    op.create_check_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules',
                               "strategy IN ('round_robin', 'least_loaded', 'pool')")
    for table in TABLES:
        enable_rls(op, table)


def downgrade():
    op.drop_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules', type_='check')
    op.execute("UPDATE lead_assignment_rules SET strategy = 'round_robin' WHERE strategy = 'pool'")
    op.create_check_constraint('ck_lead_assignment_rules_known_strategy', 'lead_assignment_rules',
                               "strategy IN ('round_robin', 'least_loaded')")
    op.drop_index('ix_lead_history_tenant_claims', table_name='lead_history')
    op.drop_index('ix_leads_tenant_pooled', table_name='leads')
    for column, target in (('stage_id', 'lead_stages'), ('asset_id', 'assets'), ('quote_id', 'sales_documents')):
        op.drop_constraint(f'fk_leads_tenant_id_{column}_{target}', 'leads', type_='foreignkey')
    for name in ('stage_id', 'stage_entered_at', 'pooled_at', 'pool_reason', 'touched_at', 'asset_id', 'quote_id'):
        op.drop_column('leads', name)
    for table in reversed(TABLES):
        op.drop_table(table)
