"""saved views

Revision ID: e0bec93e9832
Revises: ef50a2fca51c
Create Date: 2026-11-22 18:44:24.918720
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'e0bec93e9832'
down_revision = 'ef50a2fca51c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_views',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('query', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_saved_views_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_saved_views_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_saved_views'))
    )
    op.create_index('ix_saved_views_tenant_entity', 'saved_views', ['tenant_id', 'entity', 'user_id'], unique=False)
    enable_rls(op, "saved_views")


def downgrade():
    op.drop_index('ix_saved_views_tenant_entity', table_name='saved_views')
    op.drop_table('saved_views')
