"""billing events

Revision ID: 206d5b6f2094
Revises: 2a1f3de1cdf1
Create Date: 2026-11-22 23:07:49.503437
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '206d5b6f2094'
down_revision = '2a1f3de1cdf1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_events',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=60), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_billing_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_events'))
    )
    op.create_index('ix_billing_events_unapplied', 'billing_events', ['created'],
                    postgresql_where=sa.text('processed_at IS NULL'))


def downgrade():
    op.drop_index('ix_billing_events_unapplied', table_name='billing_events')
    op.drop_table('billing_events')
