"""customer kind status tags consents

Revision ID: 75fa457ed6af
Revises: 217d3d5c2187
Create Date: 2026-11-22 17:57:11.188765
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '75fa457ed6af'
down_revision = '217d3d5c2187'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('customers', sa.Column('kind', sa.String(length=10), server_default='person', nullable=False))
    op.add_column('customers', sa.Column('contact_name', sa.String(length=80), nullable=True))
    op.add_column('customers', sa.Column('status', sa.String(length=12), server_default='active', nullable=False))
    op.add_column('customers', sa.Column('level', sa.String(length=20), nullable=True))
    op.add_column('customers', sa.Column('tags', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False))
    op.add_column('customers', sa.Column('consents', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))
    op.create_index('ix_customers_tenant_owner', 'customers', ['tenant_id', 'owner_id'], unique=False)


def downgrade():
    op.drop_index('ix_customers_tenant_owner', table_name='customers')
    op.drop_column('customers', 'consents')
    op.drop_column('customers', 'tags')
    op.drop_column('customers', 'level')
    op.drop_column('customers', 'status')
    op.drop_column('customers', 'contact_name')
    op.drop_column('customers', 'kind')
