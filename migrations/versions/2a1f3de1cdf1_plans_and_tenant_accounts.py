"""plans and tenant accounts

Revision ID: 2a1f3de1cdf1
Revises: 1b7f2e624405
Create Date: 2026-11-22 23:03:00.427406
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '2a1f3de1cdf1'
down_revision = '1b7f2e624405'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plans',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name_zh', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=40), nullable=False),
    sa.Column('limits', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('monthly_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stripe_plan', sa.String(length=100), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_plans'))
    )
    op.create_table('tenant_accounts',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('plan_code', sa.String(length=20), nullable=True),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('billing_status', sa.String(length=20), nullable=False),
    sa.Column('grace_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=100), nullable=True),
    sa.Column('stripe_subscription_id', sa.String(length=100), nullable=True),
    sa.Column('billing_event_at', sa.BigInteger(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checklist_dismissed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_code'], ['plans.code'], name=op.f('fk_tenant_accounts_plan_code_plans')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_accounts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenant_accounts')),
    sa.UniqueConstraint('stripe_customer_id', name=op.f('uq_tenant_accounts_stripe_customer_id'))
    )
    # the plans in data; operators change limits and prices with SQL or `flask tenants plan` (docs/billing.md)
    plans = sa.table("plans", sa.column("code"), sa.column("name_zh"), sa.column("name_en"), sa.column("limits",
                     postgresql.JSONB), sa.column("monthly_price"), sa.column("currency"), sa.column("position"),
                     sa.column("public"), sa.column("stripe_plan"))
    op.bulk_insert(plans, [
        {"code": "free", "name_zh": "免费版", "name_en": "Free", "monthly_price": 0, "currency": "CNY", "position": 10,
         "public": True, "stripe_plan": None,
         "limits": {"stores": 1, "seats": 3, "customers": 500, "plugins": [], "api": False}},
        {"code": "pro", "name_zh": "专业版", "name_en": "Pro", "monthly_price": 199, "currency": "CNY", "position": 20,
         "public": True, "stripe_plan": "storecrm-pro",
         "limits": {"stores": 10, "seats": 50, "customers": 50000, "plugins": ["*"], "api": True}},
        {"code": "enterprise", "name_zh": "企业版", "name_en": "Enterprise", "monthly_price": 399, "currency": "CNY",
         "position": 30, "public": True, "stripe_plan": "storecrm-enterprise",
         "limits": {"stores": None, "seats": None, "customers": None, "plugins": ["*"], "api": True}},
    ])


def downgrade():
    op.drop_table('tenant_accounts')
    op.drop_table('plans')
