"""leads: channels, campaigns, assignment rules, leads (one open lead per mobile), lead events, webhook deliveries

Revision ID: d4e1f0a9b2c3
Revises: 5857e6c054a5
Create Date: 2026-12-03 07:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'd4e1f0a9b2c3'
# after merging main: also the merge point of main's import-conflicts head and the scheduling branch's head
down_revision = '5857e6c054a5'
branch_labels = None
depends_on = None

TABLES = ("lead_channels", "lead_campaigns", "lead_assignment_rules", "leads", "lead_history", "lead_deliveries")
OPEN_SQL = "status IN ('new', 'contacted', 'qualified')"


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
    op.create_table('lead_channels', *_base(),
                    sa.Column('name', sa.String(length=80), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('secret', sa.String(length=80), nullable=False),
                    sa.Column('cost_per_month', sa.Numeric(12, 2), nullable=False),
                    sa.Column('first_contact_minutes', sa.Integer(), nullable=False),
                    sa.Column('store_id', sa.BigInteger(), nullable=True),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.CheckConstraint('cost_per_month >= 0', name='ck_lead_channels_cost_not_negative'),
                    sa.CheckConstraint('first_contact_minutes BETWEEN 1 AND 20160', name='ck_lead_channels_sla_range'),
                    _fk('lead_channels', 'store_id', 'stores', 'SET NULL'),
                    sa.UniqueConstraint('tenant_id', 'name', name='uq_lead_channels_tenant_id_name'),
                    *_tail('lead_channels', timestamps=True))

    op.create_table('lead_campaigns', *_base(),
                    sa.Column('name', sa.String(length=120), nullable=False),
                    sa.Column('channel_id', sa.BigInteger(), nullable=True),
                    sa.Column('starts_on', sa.Date(), nullable=True),
                    sa.Column('ends_on', sa.Date(), nullable=True),
                    sa.Column('cost', sa.Numeric(12, 2), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.CheckConstraint('cost >= 0', name='ck_lead_campaigns_cost_not_negative'),
                    _fk('lead_campaigns', 'channel_id', 'lead_channels', 'SET NULL'),
                    sa.UniqueConstraint('tenant_id', 'name', name='uq_lead_campaigns_tenant_id_name'),
                    *_tail('lead_campaigns', timestamps=True))

    op.create_table('lead_assignment_rules', *_base(),
                    sa.Column('name', sa.String(length=80), nullable=False),
                    sa.Column('position', sa.Integer(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.Column('channel_id', sa.BigInteger(), nullable=True),
                    sa.Column('store_id', sa.BigInteger(), nullable=True),
                    sa.Column('strategy', sa.String(length=20), nullable=False),
                    sa.Column('staff_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.Column('fallback_user_id', sa.BigInteger(), nullable=True),
                    sa.Column('first_contact_minutes', sa.Integer(), nullable=True),
                    sa.Column('last_user_id', sa.BigInteger(), nullable=True),
                    sa.CheckConstraint("strategy IN ('round_robin', 'least_loaded')",
                                       name='ck_lead_assignment_rules_known_strategy'),
                    sa.CheckConstraint('first_contact_minutes IS NULL OR first_contact_minutes BETWEEN 1 AND 20160',
                                       name='ck_lead_assignment_rules_sla_range'),
                    _fk('lead_assignment_rules', 'channel_id', 'lead_channels', 'CASCADE'),
                    _fk('lead_assignment_rules', 'store_id', 'stores', 'CASCADE'),
                    _fk('lead_assignment_rules', 'fallback_user_id', 'users', 'SET NULL'),
                    _fk('lead_assignment_rules', 'last_user_id', 'users', 'SET NULL'),
                    *_tail('lead_assignment_rules', timestamps=True))
    op.create_index('ix_lead_assignment_rules_tenant_position', 'lead_assignment_rules', ['tenant_id', 'position'])

    op.create_table('leads', *_base(),
                    sa.Column('name', sa.String(length=80), nullable=False),
                    sa.Column('mobile', sa.String(length=20), nullable=False),
                    sa.Column('channel_id', sa.BigInteger(), nullable=False),
                    sa.Column('campaign_id', sa.BigInteger(), nullable=True),
                    sa.Column('store_id', sa.BigInteger(), nullable=True),
                    sa.Column('owner_id', sa.BigInteger(), nullable=True),
                    sa.Column('rule_id', sa.BigInteger(), nullable=True),
                    sa.Column('customer_id', sa.BigInteger(), nullable=True),
                    sa.Column('status', sa.String(length=12), nullable=False),
                    sa.Column('lost_reason', sa.String(length=20), nullable=True),
                    sa.Column('lost_note', sa.String(length=300), nullable=True),
                    sa.Column('interest', sa.String(length=120), nullable=True),
                    sa.Column('notes', sa.Text(), nullable=True),
                    sa.Column('source', sa.String(length=10), nullable=False),
                    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('enquiries', sa.Integer(), nullable=False),
                    sa.Column('last_enquiry_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('first_contact_deadline', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('first_contacted_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('qualified_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
                    sa.CheckConstraint("status IN ('new', 'contacted', 'qualified', 'won', 'lost')",
                                       name='ck_leads_known_status'),
                    sa.CheckConstraint("status <> 'lost' OR lost_reason IS NOT NULL", name='ck_leads_lost_has_reason'),
                    _fk('leads', 'channel_id', 'lead_channels'),
                    _fk('leads', 'campaign_id', 'lead_campaigns', 'SET NULL'),
                    _fk('leads', 'store_id', 'stores', 'SET NULL'),
                    _fk('leads', 'owner_id', 'users', 'SET NULL'),
                    _fk('leads', 'customer_id', 'customers', 'SET NULL'),
                    _fk('leads', 'rule_id', 'lead_assignment_rules', 'SET NULL'),
                    *_tail('leads', timestamps=True))
    # One-ID: never two open leads for one mobile, whatever the concurrency (docs/leads.md)
    op.create_index('uq_leads_open_mobile', 'leads', ['tenant_id', 'mobile'], unique=True,
                    postgresql_where=sa.text(OPEN_SQL))
    op.create_index('ix_leads_tenant_owner_status', 'leads', ['tenant_id', 'owner_id', 'status'])
    op.create_index('ix_leads_tenant_status_created', 'leads', ['tenant_id', 'status', 'created_at'])
    op.create_index('ix_leads_tenant_channel_created', 'leads', ['tenant_id', 'channel_id', 'created_at'])
    op.create_index('ix_leads_tenant_customer', 'leads', ['tenant_id', 'customer_id'])
    op.create_index('ix_leads_tenant_mobile', 'leads', ['tenant_id', 'mobile'])

    op.create_table('lead_history', *_base(),
                    sa.Column('lead_id', sa.BigInteger(), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('user_id', sa.BigInteger(), nullable=True),
                    sa.Column('body', sa.Text(), nullable=True),
                    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    _fk('lead_history', 'lead_id', 'leads', 'CASCADE'),
                    _fk('lead_history', 'user_id', 'users', 'SET NULL'),
                    *_tail('lead_history'))
    op.create_index('ix_lead_history_tenant_lead_at', 'lead_history', ['tenant_id', 'lead_id', 'at'])

    op.create_table('lead_deliveries', *_base(),
                    sa.Column('channel_id', sa.BigInteger(), nullable=False),
                    sa.Column('delivery_id', sa.String(length=100), nullable=False),
                    sa.Column('lead_id', sa.BigInteger(), nullable=True),
                    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
                    _fk('lead_deliveries', 'channel_id', 'lead_channels', 'CASCADE'),
                    _fk('lead_deliveries', 'lead_id', 'leads', 'SET NULL'),
                    sa.UniqueConstraint('tenant_id', 'channel_id', 'delivery_id',
                                        name='uq_lead_deliveries_tenant_id_channel_id_delivery_id'),
                    *_tail('lead_deliveries'))
    for table in TABLES:
        enable_rls(op, table)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
