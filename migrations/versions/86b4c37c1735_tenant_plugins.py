"""tenant plugins

Revision ID: 86b4c37c1735
Revises: 61876abc72b9
Create Date: 2026-11-22 17:35:26.003151
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '86b4c37c1735'
down_revision = '61876abc72b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tenant_plugins',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('first_enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_plugins_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tenant_plugins')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_tenant_plugins_tenant_id_name'))
    )
    enable_rls(op, 'tenant_plugins')


def downgrade():
    op.drop_table('tenant_plugins')
