"""sms_cn tables: the template map and the delivery log

Revision ID: sms_cn_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
from storecrm.sdk.migrations import enable_rls

revision = 'sms_cn_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_cn_templates',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('provider_template', sa.String(length=60), nullable=False),
    sa.Column('param_names', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sms_cn_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sms_cn_templates')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_sms_cn_templates_tenant_id_code'))
    )
    enable_rls(op, 'sms_cn_templates')
    op.create_table('sms_cn_deliveries',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('provider', sa.String(length=10), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('template', sa.String(length=60), nullable=False),
    sa.Column('provider_message_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('error_code', sa.String(length=80), nullable=True),
    sa.Column('error_text', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'message_id'], ['outbox_messages.tenant_id', 'outbox_messages.id'], name=op.f('fk_sms_cn_deliveries_tenant_id_message_id_outbox_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sms_cn_deliveries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sms_cn_deliveries')),
    sa.UniqueConstraint('tenant_id', 'provider', 'provider_message_id', name=op.f('uq_sms_cn_deliveries_tenant_id_provider_provider_message_id'))
    )
    enable_rls(op, 'sms_cn_deliveries')
    op.create_index('ix_sms_cn_deliveries_tenant_message', 'sms_cn_deliveries', ['tenant_id', 'message_id'], unique=False)
    op.create_index('ix_sms_cn_deliveries_tenant_created', 'sms_cn_deliveries', ['tenant_id', 'created_at'], unique=False)


def downgrade():
    op.drop_table('sms_cn_deliveries')
    op.drop_table('sms_cn_templates')
