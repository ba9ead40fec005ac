"""Deposits (定金) on quotes, carried over to the order on acceptance

Revision ID: d4e6f8a0b2c4
Revises: d4e8a2b6c1f9
Create Date: 2026-12-03 18:40:00
"""
from alembic import op
import sqlalchemy as sa
from storecrm.tenancy.ddl import enable_rls

revision = 'd4e6f8a0b2c4'
down_revision = 'd4e8a2b6c1f9'
branch_labels = None
depends_on = None


def _fk(column, target, ondelete=None):
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=op.f(f'fk_quote_deposits_tenant_id_{column}_{target}'),
                                   ondelete=f'SET NULL ({column})' if ondelete == 'SET NULL' else ondelete)


def upgrade():
    op.create_table('quote_deposits',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('quote_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(14, 2), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('staff_id', sa.BigInteger(), nullable=True),
    sa.Column('request_key', sa.String(length=80), nullable=True),
    sa.Column('order_payment_id', sa.BigInteger(), nullable=True),
    sa.Column('refund_reason', sa.String(length=200), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_quote_deposits_amount_positive')),
    _fk('quote_id', 'sales_documents'),
    _fk('customer_id', 'customers'),
    _fk('staff_id', 'users', 'SET NULL'),
    _fk('order_payment_id', 'payments', 'SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quote_deposits_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_quote_deposits')),
    sa.UniqueConstraint('tenant_id', 'request_key', name='uq_quote_deposits_tenant_request_key'),
    )
    op.create_index('ix_quote_deposits_tenant_quote', 'quote_deposits', ['tenant_id', 'quote_id', 'id'])
    enable_rls(op, 'quote_deposits')


def downgrade():
    op.drop_index('ix_quote_deposits_tenant_quote', table_name='quote_deposits')
    op.drop_table('quote_deposits')
