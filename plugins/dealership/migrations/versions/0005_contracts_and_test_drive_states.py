"""vehicle sales contracts; test drives completed or cancelled

Revision ID: dealership_0005
Revises: dealership_0004
"""
from alembic import op
import sqlalchemy as sa

from storecrm.sdk.migrations import enable_rls

revision = 'dealership_0005'
down_revision = 'dealership_0004'
branch_labels = None
depends_on = None


def _fk(column, target, ondelete=None):
    if ondelete == 'SET NULL':
        ondelete = f'SET NULL ({column})'
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=op.f(f'fk_dealer_contracts_tenant_id_{column}_{target}'), ondelete=ondelete)


def upgrade():
    op.add_column('dealer_test_drives', sa.Column('state', sa.String(length=10), nullable=False,
                                                  server_default='booked'))
    op.add_column('dealer_test_drives', sa.Column('note', sa.String(length=300), nullable=True))
    op.add_column('dealer_test_drives', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('dealer_contracts',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('lead_id', sa.BigInteger(), nullable=True),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('advisor_id', sa.BigInteger(), nullable=True),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('trim', sa.String(length=80), nullable=True),
    sa.Column('colour', sa.String(length=40), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('price', sa.Numeric(12, 2), nullable=False),
    sa.Column('discount', sa.Numeric(12, 2), nullable=False),
    sa.Column('deposit', sa.Numeric(12, 2), nullable=False),
    sa.Column('delivery_on', sa.Date(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('quote_id', sa.BigInteger(), nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('signed_name', sa.String(length=80), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deposit_paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'signed', 'deposit_paid', 'delivered', 'cancelled')",
                       name=op.f('ck_dealer_contracts_known_state')),
    sa.CheckConstraint('deposit >= 0 AND discount >= 0 AND price > 0 AND deposit <= price - discount',
                       name=op.f('ck_dealer_contracts_sane_money')),
    _fk('lead_id', 'leads', 'SET NULL'),
    _fk('customer_id', 'customers'),
    _fk('store_id', 'stores'),
    _fk('advisor_id', 'users', 'SET NULL'),
    _fk('quote_id', 'sales_documents', 'SET NULL'),
    _fk('order_id', 'sales_documents', 'SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dealer_contracts_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_dealer_contracts')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_dealer_contracts_tenant_id_number'))
    )
    enable_rls(op, 'dealer_contracts')
    op.create_index('ix_dealer_contracts_tenant_lead', 'dealer_contracts', ['tenant_id', 'lead_id'], unique=False)
    op.create_index('ix_dealer_contracts_tenant_quote', 'dealer_contracts', ['tenant_id', 'quote_id'], unique=False)


def downgrade():
    op.drop_table('dealer_contracts')
    op.drop_column('dealer_test_drives', 'closed_at')
    op.drop_column('dealer_test_drives', 'note')
    op.drop_column('dealer_test_drives', 'state')
