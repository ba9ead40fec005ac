"""wecom bindings: staff member <-> WeCom UserID

Revision ID: wecom_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
from storecrm.sdk.migrations import enable_rls

revision = 'wecom_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wecom_bindings',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('wecom_userid', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_wecom_bindings_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wecom_bindings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_wecom_bindings')),
    sa.UniqueConstraint('tenant_id', 'user_id', name=op.f('uq_wecom_bindings_tenant_id_user_id')),
    sa.UniqueConstraint('tenant_id', 'wecom_userid', name=op.f('uq_wecom_bindings_tenant_id_wecom_userid'))
    )
    enable_rls(op, 'wecom_bindings')


def downgrade():
    op.drop_table('wecom_bindings')
