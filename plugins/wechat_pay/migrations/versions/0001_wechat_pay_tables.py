"""wechat_pay tables

Revision ID: wechat_pay_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
from storecrm.sdk.migrations import enable_rls

revision = 'wechat_pay_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_pay_payments',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('reference_id', sa.BigInteger(), nullable=True),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('description', sa.String(length=127), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('trade_type', sa.String(length=10), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('prepay_id', sa.String(length=64), nullable=True),
    sa.Column('code_url', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('transaction_id', sa.String(length=32), nullable=True),
    sa.Column('refunded_fen', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_wechat_pay_payments_tenant_id_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wechat_pay_payments_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wechat_pay_payments')),
    sa.UniqueConstraint('tenant_id', 'out_trade_no', name=op.f('uq_wechat_pay_payments_tenant_id_out_trade_no')),
    sa.UniqueConstraint('tenant_id', 'transaction_id', name=op.f('uq_wechat_pay_payments_tenant_id_transaction_id'))
    )
    enable_rls(op, 'wechat_pay_payments')
    op.create_index('ix_wechat_pay_payments_tenant_created', 'wechat_pay_payments', ['tenant_id', 'created_at'], unique=False)
    op.create_table('wechat_pay_notifications',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('notify_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('resource_key', sa.String(length=64), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wechat_pay_notifications_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wechat_pay_notifications')),
    sa.UniqueConstraint('tenant_id', 'event_type', 'resource_key', name=op.f('uq_wechat_pay_notifications_tenant_id_event_type_resource_key'))
    )
    enable_rls(op, 'wechat_pay_notifications')
    op.create_table('wechat_pay_refunds',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=False),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('refund_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['wechat_pay_payments.tenant_id', 'wechat_pay_payments.id'], name=op.f('fk_wechat_pay_refunds_tenant_id_payment_id_wechat_pay_payments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wechat_pay_refunds_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wechat_pay_refunds')),
    sa.UniqueConstraint('tenant_id', 'out_refund_no', name=op.f('uq_wechat_pay_refunds_tenant_id_out_refund_no'))
    )
    enable_rls(op, 'wechat_pay_refunds')


def downgrade():
    op.drop_table('wechat_pay_refunds')
    op.drop_table('wechat_pay_notifications')
    op.drop_table('wechat_pay_payments')
