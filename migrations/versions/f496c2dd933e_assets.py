"""assets

Revision ID: f496c2dd933e
Revises: 87069977d136
Create Date: 2026-11-22 18:07:52.574996
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'f496c2dd933e'
down_revision = '87069977d136'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assets',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=True),
    sa.Column('purchased_on', sa.Date(), nullable=True),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('warranty_until', sa.Date(), nullable=True),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_assets_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_assets_tenant_id_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_assets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_assets'))
    )
    op.create_index('ix_assets_tenant_customer', 'assets', ['tenant_id', 'customer_id'], unique=False)
    op.create_index('ix_assets_tenant_installed', 'assets', ['tenant_id', 'installed_on'], unique=False)
    op.create_index('ix_assets_tenant_type', 'assets', ['tenant_id', 'type', 'id'], unique=False)
    op.create_index('ix_assets_tenant_warranty', 'assets', ['tenant_id', 'warranty_until'], unique=False)
    op.create_table('asset_ownerships',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('asset_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_asset_ownerships_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_asset_ownerships_tenant_id_customer_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_asset_ownerships_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asset_ownerships'))
    )
    op.create_index('ix_asset_ownerships_tenant_asset', 'asset_ownerships', ['tenant_id', 'asset_id', 'since'], unique=False)
    op.create_index('ix_asset_ownerships_tenant_customer', 'asset_ownerships', ['tenant_id', 'customer_id'], unique=False)
    op.add_column('customer_identities', sa.Column('asset_id', sa.BigInteger(), nullable=True))
    op.create_index('ix_customer_identities_tenant_asset', 'customer_identities', ['tenant_id', 'asset_id'], unique=False)
    op.create_foreign_key(op.f('fk_customer_identities_tenant_id_asset_id_assets'), 'customer_identities', 'assets', ['tenant_id', 'asset_id'], ['tenant_id', 'id'], ondelete='SET NULL (asset_id)')
    enable_rls(op, "assets")
    enable_rls(op, "asset_ownerships")


def downgrade():
    op.drop_constraint(op.f('fk_customer_identities_tenant_id_asset_id_assets'), 'customer_identities', type_='foreignkey')
    op.drop_index('ix_customer_identities_tenant_asset', table_name='customer_identities')
    op.drop_column('customer_identities', 'asset_id')
    op.drop_index('ix_asset_ownerships_tenant_customer', table_name='asset_ownerships')
    op.drop_index('ix_asset_ownerships_tenant_asset', table_name='asset_ownerships')
    op.drop_table('asset_ownerships')
    op.drop_index('ix_assets_tenant_warranty', table_name='assets')
    op.drop_index('ix_assets_tenant_type', table_name='assets')
    op.drop_index('ix_assets_tenant_installed', table_name='assets')
    op.drop_index('ix_assets_tenant_customer', table_name='assets')
    op.drop_table('assets')
