"""sales: quotes and orders, lines, quote revisions, payments and refunds; customer spend columns

Revision ID: a7c5e1f3b9d2
Revises: a7e5c0d3f914 (catalog and stock, branch commerce-stock)
Create Date: 2026-12-03 06:55:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'a7c5e1f3b9d2'
down_revision = 'a7e5c0d3f914'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(14, 2)
PERCENT = sa.Numeric(5, 2)
QUANTITY = sa.Numeric(12, 3)


def _tenant_cols():
    return [sa.Column('tenant_id', sa.BigInteger(), nullable=False),
            sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False)]


def _fk(table, column, target, ondelete=None):
    kwargs = {}
    if ondelete == "SET NULL":
        kwargs["ondelete"] = f"SET NULL ({column})"
    elif ondelete:
        kwargs["ondelete"] = ondelete
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=op.f(f'fk_{table}_tenant_id_{column}_{target}'), **kwargs)


def _tenant_fk(table):
    return sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{table}_tenant_id_tenants'),
                                   ondelete='CASCADE')


def upgrade():
    op.create_table('sales_documents', *_tenant_cols(),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('number', sa.String(length=30), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('store_id', sa.BigInteger(), nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('asset_id', sa.BigInteger(), nullable=True),
        sa.Column('staff_id', sa.BigInteger(), nullable=True),
        sa.Column('source_type', sa.String(length=40), nullable=True),
        sa.Column('source_id', sa.BigInteger(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('header_discount_pct', PERCENT, nullable=False),
        sa.Column('subtotal', MONEY, nullable=False),
        sa.Column('discount_total', MONEY, nullable=False),
        sa.Column('tax_total', MONEY, nullable=False),
        sa.Column('total', MONEY, nullable=False),
        sa.Column('paid_total', MONEY, nullable=False),
        sa.Column('refunded_total', MONEY, nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('custom', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('share_token', sa.String(length=64), nullable=True),
        sa.Column('deposit_pct', PERCENT, nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('accepted_name', sa.String(length=80), nullable=True),
        sa.Column('signature', sa.Text(), nullable=True),
        sa.Column('closed_reason', sa.String(length=200), nullable=True),
        sa.Column('approval_item_id', sa.BigInteger(), nullable=True),
        sa.Column('quote_id', sa.BigInteger(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('invoice_number', sa.String(length=40), nullable=True),
        sa.Column('invoice_state', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('paid_total >= 0 AND refunded_total >= 0 AND refunded_total <= paid_total',
                           name=op.f('ck_sales_documents_money_received')),
        _fk('sales_documents', 'store_id', 'stores'),
        _fk('sales_documents', 'customer_id', 'customers'),
        _fk('sales_documents', 'asset_id', 'assets', 'SET NULL'),
        _fk('sales_documents', 'staff_id', 'users', 'SET NULL'),
        _fk('sales_documents', 'quote_id', 'sales_documents'),
        _fk('sales_documents', 'approval_item_id', 'workflow_items', 'SET NULL'),
        _tenant_fk('sales_documents'),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sales_documents')),
        sa.UniqueConstraint('tenant_id', 'kind', 'number', name='uq_sales_documents_tenant_kind_number'),
        sa.UniqueConstraint('tenant_id', 'share_token', name='uq_sales_documents_tenant_share_token'),
    )
    op.create_index('ix_sales_documents_tenant_customer', 'sales_documents', ['tenant_id', 'customer_id', 'kind', 'id'])
    op.create_index('ix_sales_documents_tenant_kind_state', 'sales_documents', ['tenant_id', 'kind', 'state', 'id'])
    op.create_index('ix_sales_documents_tenant_source', 'sales_documents', ['tenant_id', 'source_type', 'source_id'])
    op.create_index('ix_sales_documents_tenant_quote', 'sales_documents', ['tenant_id', 'quote_id'])

    op.create_table('sales_lines', *_tenant_cols(),
        sa.Column('document_id', sa.BigInteger(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.BigInteger(), nullable=True),
        sa.Column('item_kind', sa.String(length=20), nullable=True),
        sa.Column('sku', sa.String(length=64), nullable=True),
        sa.Column('description', sa.String(length=300), nullable=False),
        sa.Column('package_item_id', sa.BigInteger(), nullable=True),
        sa.Column('package_name', sa.String(length=200), nullable=True),
        sa.Column('serial_tracked', sa.Boolean(), nullable=False),
        sa.Column('unit', sa.String(length=20), nullable=True),
        sa.Column('quantity', QUANTITY, nullable=False),
        sa.Column('unit_price', MONEY, nullable=False),
        sa.Column('discount_pct', PERCENT, nullable=False),
        sa.Column('tax_rate', PERCENT, nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('header_discount', MONEY, nullable=False),
        sa.Column('tax', MONEY, nullable=False),
        sa.Column('optional', sa.Boolean(), nullable=False),
        sa.Column('selected', sa.Boolean(), nullable=False),
        sa.Column('advisor_id', sa.BigInteger(), nullable=True),
        sa.Column('technician_id', sa.BigInteger(), nullable=True),
        sa.Column('technician_share_pct', PERCENT, nullable=False),
        sa.Column('fulfilled_quantity', QUANTITY, nullable=False),
        sa.Column('issued_serials', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
        sa.CheckConstraint('quantity > 0 AND unit_price >= 0 AND discount_pct BETWEEN 0 AND 100 '
                           'AND tax_rate BETWEEN 0 AND 100', name=op.f('ck_sales_lines_figures')),
        _fk('sales_lines', 'document_id', 'sales_documents', 'CASCADE'),
        _fk('sales_lines', 'item_id', 'catalog_items'),
        _fk('sales_lines', 'package_item_id', 'catalog_items', 'SET NULL'),
        _fk('sales_lines', 'advisor_id', 'users', 'SET NULL'),
        _fk('sales_lines', 'technician_id', 'users', 'SET NULL'),
        _tenant_fk('sales_lines'),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sales_lines')),
    )
    op.create_index('ix_sales_lines_tenant_document', 'sales_lines', ['tenant_id', 'document_id', 'position'])
    op.create_index('ix_sales_lines_tenant_item', 'sales_lines', ['tenant_id', 'item_id'])

    op.create_table('quote_revisions', *_tenant_cols(),
        sa.Column('quote_id', sa.BigInteger(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_by_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        _fk('quote_revisions', 'quote_id', 'sales_documents', 'CASCADE'),
        _fk('quote_revisions', 'created_by_id', 'users', 'SET NULL'),
        _tenant_fk('quote_revisions'),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_quote_revisions')),
        sa.UniqueConstraint('tenant_id', 'quote_id', 'revision', name='uq_quote_revisions_tenant_quote_revision'),
    )

    op.create_table('payments', *_tenant_cols(),
        sa.Column('document_id', sa.BigInteger(), nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reference', sa.String(length=80), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('staff_id', sa.BigInteger(), nullable=True),
        sa.Column('request_key', sa.String(length=80), nullable=True),
        sa.Column('returned', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
        _fk('payments', 'document_id', 'sales_documents'),
        _fk('payments', 'customer_id', 'customers'),
        _fk('payments', 'staff_id', 'users', 'SET NULL'),
        _tenant_fk('payments'),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payments')),
        sa.UniqueConstraint('tenant_id', 'request_key', name='uq_payments_tenant_request_key'),
    )
    op.create_index('ix_payments_tenant_document', 'payments', ['tenant_id', 'document_id', 'id'])
    op.create_index('ix_payments_tenant_customer', 'payments', ['tenant_id', 'customer_id', 'received_at'])

    op.add_column('customers', sa.Column('lifetime_spend', MONEY, server_default='0', nullable=False))
    op.add_column('customers', sa.Column('order_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('customers', sa.Column('first_purchase_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('customers', sa.Column('last_purchase_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('customers', sa.Column('average_order_value', MONEY, sa.Computed(
        'CASE WHEN order_count > 0 THEN round(lifetime_spend / order_count, 2) END'), nullable=True))
    op.create_index('ix_customers_tenant_spend', 'customers', ['tenant_id', 'lifetime_spend'])

    for table in ('sales_documents', 'sales_lines', 'quote_revisions', 'payments'):
        enable_rls(op, table)


def downgrade():
    op.drop_index('ix_customers_tenant_spend', table_name='customers')
    for column in ('average_order_value', 'last_purchase_at', 'first_purchase_at', 'order_count', 'lifetime_spend'):
        op.drop_column('customers', column)
    op.drop_table('payments')
    op.drop_table('quote_revisions')
    op.drop_table('sales_lines')
    op.drop_table('sales_documents')
