"""KPI targets per store, person and month; weekly digest opt-ins

Revision ID: c3f9a7e1d5b2
Revises: f2c8d4a6b1e3
Create Date: 2026-12-03 15:20:00
"""
from alembic import op
import sqlalchemy as sa
from storecrm.tenancy.ddl import enable_rls

revision = 'c3f9a7e1d5b2'
down_revision = 'f2c8d4a6b1e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kpi_targets',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kpi_code', sa.String(length=80), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('value', sa.Numeric(14, 2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_kpi_targets_tenant_id_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_kpi_targets_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_targets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_kpi_targets'))
    )
    op.create_index('uq_kpi_targets_tenant_key', 'kpi_targets',
                    ['tenant_id', 'kpi_code', 'month', sa.text('coalesce(store_id, 0)'), sa.text('coalesce(user_id, 0)')],
                    unique=True)
    enable_rls(op, 'kpi_targets')
    op.create_table('report_digests',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('last_week', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_report_digests_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_digests_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_report_digests')),
    sa.UniqueConstraint('tenant_id', 'user_id', name=op.f('uq_report_digests_tenant_id_user_id'))
    )
    enable_rls(op, 'report_digests')


def downgrade():
    op.drop_table('report_digests')
    op.drop_index('uq_kpi_targets_tenant_key', table_name='kpi_targets')
    op.drop_table('kpi_targets')
