"""wechat_oa subscribe message consents (订阅通知)

Revision ID: wechat_oa_0002
Revises: wechat_oa_0001
"""
from alembic import op
import sqlalchemy as sa
from storecrm.sdk.migrations import enable_rls

revision = 'wechat_oa_0002'
down_revision = 'wechat_oa_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wechat_oa_subscribe_consents',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('last_event', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wechat_oa_subscribe_consents_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wechat_oa_subscribe_consents')),
    sa.UniqueConstraint('tenant_id', 'openid', 'template_id', name=op.f('uq_wechat_oa_subscribe_consents_tenant_id_openid_template_id'))
    )
    enable_rls(op, 'wechat_oa_subscribe_consents')


def downgrade():
    op.drop_table('wechat_oa_subscribe_consents')
