"""retail: complaint SLA on store hours (resolution target, waiting for the customer, satisfaction), remedies
issued from a complaint, offline till transactions

Revision ID: retail_0002
Revises: retail_0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.sdk.migrations import enable_rls

revision = 'retail_0002'
down_revision = 'retail_0001'
branch_labels = None
depends_on = None


def _fk(table, column, target, ondelete=None):
    return sa.ForeignKeyConstraint(['tenant_id', column], [f'{target}.tenant_id', f'{target}.id'],
                                   name=op.f(f'fk_{table}_tenant_id_{column}_{target}'), ondelete=ondelete)


def upgrade():
    op.add_column('retail_complaints', sa.Column('resolution_due', sa.DateTime(timezone=True), nullable=True))
    op.add_column('retail_complaints', sa.Column('resolution_left', sa.Integer(), nullable=True))
    op.add_column('retail_complaints', sa.Column('resolution_overdue', sa.Boolean(), nullable=False,
                                                 server_default=sa.false()))
    op.add_column('retail_complaints', sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('retail_complaints', sa.Column('satisfaction', sa.Integer(), nullable=True))
    op.add_column('retail_complaints', sa.Column('waited_minutes', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('retail_complaints', sa.Column('response_minutes', sa.Integer(), nullable=True))
    op.add_column('retail_complaints', sa.Column('resolution_minutes', sa.Integer(), nullable=True))
    op.alter_column('retail_complaint_events', 'kind', type_=sa.String(length=20))

    op.create_table('retail_complaint_remedies',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('complaint_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('coupon_id', sa.BigInteger(), nullable=True),
    sa.Column('purchase_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('points_reversed', sa.Integer(), nullable=False),
    sa.Column('returned', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    _fk('retail_complaint_remedies', 'complaint_id', 'retail_complaints', 'CASCADE'),
    _fk('retail_complaint_remedies', 'coupon_id', 'retail_coupons'),
    _fk('retail_complaint_remedies', 'purchase_id', 'retail_purchases'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_retail_complaint_remedies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_retail_complaint_remedies'))
    )
    enable_rls(op, 'retail_complaint_remedies')
    op.create_index('ix_retail_complaint_remedies_complaint', 'retail_complaint_remedies', ['tenant_id', 'complaint_id'])

    op.create_table('retail_offline_transactions',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('till', sa.String(length=40), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('nonce', sa.String(length=40), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('coupon_code', sa.String(length=16), nullable=True),
    sa.Column('receipt_no', sa.String(length=40), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    _fk('retail_offline_transactions', 'member_id', 'retail_members', 'CASCADE'),
    _fk('retail_offline_transactions', 'store_id', 'stores'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_retail_offline_transactions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_retail_offline_transactions')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_retail_offline_transactions_tenant_id_key'))
    )
    enable_rls(op, 'retail_offline_transactions')
    op.create_index('ix_retail_offline_transactions_nonce', 'retail_offline_transactions', ['tenant_id', 'nonce'])
    op.create_index('ix_retail_offline_transactions_status', 'retail_offline_transactions',
                    ['tenant_id', 'status', 'uploaded_at'])


def downgrade():
    op.drop_table('retail_offline_transactions')
    op.drop_table('retail_complaint_remedies')
    op.alter_column('retail_complaint_events', 'kind', type_=sa.String(length=12))
    for column in ('resolution_minutes', 'response_minutes', 'waited_minutes', 'satisfaction', 'waiting_since', 'resolution_overdue', 'resolution_left', 'resolution_due'):
        op.drop_column('retail_complaints', column)
