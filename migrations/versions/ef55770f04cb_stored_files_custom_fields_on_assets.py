"""stored files, custom fields on assets

Revision ID: ef55770f04cb
Revises: e0bec93e9832
Create Date: 2026-11-22 19:36:05.605775
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'ef55770f04cb'
down_revision = 'e0bec93e9832'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_files',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=True),
    sa.Column('uploaded_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'uploaded_by'], ['users.tenant_id', 'users.id'], name=op.f('fk_stored_files_tenant_id_uploaded_by_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_stored_files_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stored_files'))
    )
    op.create_index('ix_stored_files_tenant_created', 'stored_files', ['tenant_id', 'created_at'], unique=False)
    enable_rls(op, "stored_files")
    op.add_column('assets', sa.Column('custom', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))


def downgrade():
    op.drop_column('assets', 'custom')
    op.drop_index('ix_stored_files_tenant_created', table_name='stored_files')
    op.drop_table('stored_files')
