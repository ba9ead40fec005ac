"""wechat_oa tables

Revision ID: wechat_oa_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
from storecrm.sdk.migrations import enable_rls

revision = 'wechat_oa_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_oa_followers',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('subscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_wechat_oa_followers_tenant_id_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wechat_oa_followers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wechat_oa_followers')),
    sa.UniqueConstraint('tenant_id', 'openid', name=op.f('uq_wechat_oa_followers_tenant_id_openid'))
    )
    enable_rls(op, 'wechat_oa_followers')
    op.create_table('wechat_oa_callback_events',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('create_time', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wechat_oa_callback_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wechat_oa_callback_events')),
    sa.UniqueConstraint('tenant_id', 'openid', 'create_time', 'event', name=op.f('uq_wechat_oa_callback_events_tenant_id_openid_create_time_event'))
    )
    enable_rls(op, 'wechat_oa_callback_events')


def downgrade():
    op.drop_table('wechat_oa_callback_events')
    op.drop_table('wechat_oa_followers')
