"""notification templates

Revision ID: 38f5cd689439
Revises: d81101db21c1
Create Date: 2026-11-22 20:54:22.681556
"""
from alembic import op
import sqlalchemy as sa

from storecrm.tenancy.ddl import enable_rls

revision = '38f5cd689439'
down_revision = 'd81101db21c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_templates',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('subject_zh', sa.String(length=200), nullable=False),
    sa.Column('subject_en', sa.String(length=200), nullable=False),
    sa.Column('body_zh', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_notification_templates')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_notification_templates_tenant_id_code'))
    )
    enable_rls(op, "notification_templates")


def downgrade():
    op.drop_table('notification_templates')
