"""test drives

Revision ID: dealership_0004
Revises: dealership_0003
"""
from alembic import op
import sqlalchemy as sa

from storecrm.sdk.migrations import enable_rls

revision = 'dealership_0004'
down_revision = 'dealership_0003'
branch_labels = None
depends_on = None


def _fk(column, target, ondelete):
    if ondelete == 'SET NULL':
        ondelete = f'SET NULL ({column})'
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=op.f(f'fk_dealer_test_drives_tenant_id_{column}_{target}'), ondelete=ondelete)


def upgrade():
    op.create_table('dealer_test_drives',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('lead_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('appointment_id', sa.BigInteger(), nullable=True),
    sa.Column('resource_id', sa.BigInteger(), nullable=True),
    sa.Column('advisor_id', sa.BigInteger(), nullable=True),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _fk('lead_id', 'leads', 'CASCADE'),
    _fk('appointment_id', 'appointments', 'SET NULL'),
    _fk('resource_id', 'resources', 'SET NULL'),
    _fk('advisor_id', 'users', 'SET NULL'),
    _fk('store_id', 'stores', 'CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dealer_test_drives_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_dealer_test_drives'))
    )
    enable_rls(op, 'dealer_test_drives')
    op.create_index('ix_dealer_test_drives_tenant_starts', 'dealer_test_drives', ['tenant_id', 'starts_at'], unique=False)
    op.create_index('ix_dealer_test_drives_tenant_lead', 'dealer_test_drives', ['tenant_id', 'lead_id'], unique=False)


def downgrade():
    op.drop_table('dealer_test_drives')
