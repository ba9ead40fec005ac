"""offline action receipts, defective-part returns, van transfer requests, the vans' base position

Revision ID: smart_home_0003
Revises: smart_home_0002
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.sdk.migrations import enable_rls

revision = 'smart_home_0003'
down_revision = 'smart_home_0002'
branch_labels = None
depends_on = None


def _fk(table, column, target, ondelete=None):
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=op.f(f'fk_{table}_tenant_id_{column}_{target}'), ondelete=ondelete)


def _tenant(table):
    return sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{table}_tenant_id_tenants'),
                                   ondelete='CASCADE')


def upgrade():
    t = 'smart_home_action_receipts'
    op.create_table(t,
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('work_order_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _fk(t, 'work_order_id', 'smart_home_work_orders', 'CASCADE'), _fk(t, 'user_id', 'users'), _tenant(t),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f(f'pk_{t}')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f(f'uq_{t}_tenant_id_key')))
    enable_rls(op, t)
    op.create_index('ix_smart_home_action_receipts_tenant_order', t, ['tenant_id', 'work_order_id'])

    t = 'smart_home_part_returns'
    op.create_table(t,
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('work_order_id', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('engineer_id', sa.BigInteger(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('serial', sa.String(length=60), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('location_id', sa.BigInteger(), nullable=True),
    sa.Column('supplier', sa.String(length=80), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    _fk(t, 'work_order_id', 'smart_home_work_orders'), _fk(t, 'item_id', 'catalog_items'),
    _fk(t, 'location_id', 'stock_locations'), _fk(t, 'engineer_id', 'users'), _tenant(t),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f(f'pk_{t}')))
    enable_rls(op, t)
    op.create_index('ix_smart_home_part_returns_tenant_state', t, ['tenant_id', 'state', 'id'])
    op.create_index('ix_smart_home_part_returns_tenant_order', t, ['tenant_id', 'work_order_id'])


    t = 'smart_home_transfer_requests'
    op.create_table(t,
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('van_id', sa.BigInteger(), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('work_order_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('source_location_id', sa.BigInteger(), nullable=True),
    sa.Column('transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('decided_by_id', sa.BigInteger(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    _fk(t, 'van_id', 'smart_home_vans'), _fk(t, 'item_id', 'catalog_items'),
    _fk(t, 'work_order_id', 'smart_home_work_orders'), _fk(t, 'source_location_id', 'stock_locations'),
    _fk(t, 'decided_by_id', 'users'), _tenant(t),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f(f'pk_{t}')))
    enable_rls(op, t)
    op.create_index('ix_smart_home_transfer_requests_tenant_state', t, ['tenant_id', 'state', 'id'])
    op.add_column('smart_home_work_orders', sa.Column('respond_by', sa.DateTime(timezone=True), nullable=True))
    op.add_column('smart_home_contract_visits', sa.Column('moved_to', sa.Date(), nullable=True))
    op.add_column('smart_home_part_usages', sa.Column('coverage', sa.String(length=20), server_default='billable',
                                                      nullable=False))
    op.add_column('smart_home_part_usages', sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=True))
    for name, kind in (('labour_amount', sa.Numeric(precision=12, scale=2)), ('quote_signed_name', sa.String(length=80)),
                       ('quote_signature', sa.Text()), ('quote_signed_at', sa.DateTime(timezone=True)),
                       ('sales_order_id', sa.BigInteger()), ('team_region', sa.String(length=60))):
        op.add_column('smart_home_work_orders', sa.Column(name, kind, nullable=True))
    op.create_foreign_key(op.f('fk_smart_home_work_orders_tenant_id_sales_order_id_sales_documents'),
                          'smart_home_work_orders', 'sales_documents', ['tenant_id', 'sales_order_id'],
                          ['tenant_id', 'id'])
    op.add_column('smart_home_vans', sa.Column('base_latitude', sa.Numeric(precision=9, scale=6), nullable=True))
    op.add_column('smart_home_vans', sa.Column('base_longitude', sa.Numeric(precision=9, scale=6), nullable=True))


def downgrade():
    op.drop_constraint(op.f('fk_smart_home_work_orders_tenant_id_sales_order_id_sales_documents'),
                       'smart_home_work_orders', type_='foreignkey')
    for name in ('labour_amount', 'quote_signed_name', 'quote_signature', 'quote_signed_at', 'sales_order_id',
                 'team_region'):
        op.drop_column('smart_home_work_orders', name)
    op.drop_column('smart_home_part_usages', 'unit_price')
    op.drop_column('smart_home_part_usages', 'coverage')
    op.drop_column('smart_home_contract_visits', 'moved_to')
    op.drop_column('smart_home_work_orders', 'respond_by')
    op.drop_column('smart_home_vans', 'base_longitude')
    op.drop_column('smart_home_vans', 'base_latitude')
    op.drop_table('smart_home_transfer_requests')
    op.drop_table('smart_home_part_returns')
    op.drop_table('smart_home_action_receipts')
