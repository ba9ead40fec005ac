"""custom fields

Revision ID: ef50a2fca51c
Revises: 81d8664e4257
Create Date: 2026-11-22 18:35:46.988625
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'ef50a2fca51c'
down_revision = '81d8664e4257'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('field_definitions',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_zh', sa.String(length=60), nullable=False),
    sa.Column('label_en', sa.String(length=60), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('options', postgresql.ARRAY(sa.String(length=60)), nullable=False),
    sa.Column('default', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('help', sa.String(length=200), nullable=True),
    sa.Column('group', sa.String(length=40), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('visible_roles', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_field_definitions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_field_definitions')),
    sa.UniqueConstraint('tenant_id', 'entity', 'code', name=op.f('uq_field_definitions_tenant_id_entity_code'))
    )
    op.add_column('customers', sa.Column('custom', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))
    enable_rls(op, "field_definitions")


def downgrade():
    op.drop_column('customers', 'custom')
    op.drop_table('field_definitions')
