"""customer identities and merges

Revision ID: 217d3d5c2187
Revises: 86b4c37c1735
Create Date: 2026-11-22 17:44:44.807780
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '217d3d5c2187'
down_revision = '86b4c37c1735'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_identities',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('primary', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_identities_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_identities_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_identities')),
    sa.UniqueConstraint('tenant_id', 'kind', 'value', name=op.f('uq_customer_identities_tenant_id_kind_value'))
    )
    op.create_index('ix_customer_identities_tenant_customer', 'customer_identities', ['tenant_id', 'customer_id'], unique=False)
    op.create_table('customer_merges',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('survivor_id', sa.BigInteger(), nullable=False),
    sa.Column('merged_id', sa.BigInteger(), nullable=False),
    sa.Column('choices', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('survivor_before', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('moved_identity_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'merged_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_merges_tenant_id_merged_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id', 'survivor_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_merges_tenant_id_survivor_id_customers')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_merges_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_merges'))
    )
    op.create_index('ix_customer_merges_tenant_merged', 'customer_merges', ['tenant_id', 'merged_id'], unique=False)
    op.create_index('ix_customer_merges_tenant_survivor', 'customer_merges', ['tenant_id', 'survivor_id'], unique=False)
    op.add_column('customers', sa.Column('merged_into_id', sa.BigInteger(), nullable=True))
    op.add_column('tenants', sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))
    enable_rls(op, "customer_identities")
    enable_rls(op, "customer_merges")
    # existing customers' mobile and email become their first identities; FORCE is lifted for the copy
    # because RLS applies to the owner too, and put back in the same transaction
    op.execute("ALTER TABLE customers NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE customer_identities NO FORCE ROW LEVEL SECURITY")
    op.execute("""
        INSERT INTO customer_identities (tenant_id, customer_id, kind, value, "primary", created_at)
        SELECT DISTINCT ON (tenant_id, mobile) tenant_id, id, 'mobile', mobile, true, now()
        FROM customers WHERE mobile IS NOT NULL AND deleted_at IS NULL ORDER BY tenant_id, mobile, id
    """)
    op.execute("""
        INSERT INTO customer_identities (tenant_id, customer_id, kind, value, "primary", created_at)
        SELECT DISTINCT ON (tenant_id, lower(email)) tenant_id, id, 'email', lower(email), true, now()
        FROM customers WHERE email IS NOT NULL AND deleted_at IS NULL ORDER BY tenant_id, lower(email), id
    """)
    op.execute("ALTER TABLE customers FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE customer_identities FORCE ROW LEVEL SECURITY")


def downgrade():
    op.drop_column('tenants', 'settings')
    op.drop_column('customers', 'merged_into_id')
    op.drop_index('ix_customer_merges_tenant_survivor', table_name='customer_merges')
    op.drop_index('ix_customer_merges_tenant_merged', table_name='customer_merges')
    op.drop_table('customer_merges')
    op.drop_index('ix_customer_identities_tenant_customer', table_name='customer_identities')
    op.drop_table('customer_identities')
