"""imports

Revision ID: 81d8664e4257
Revises: f496c2dd933e
Create Date: 2026-11-22 18:14:45.668866
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '81d8664e4257'
down_revision = 'f496c2dd933e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_mappings',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('mapping', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_mappings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('tenant_id', 'kind', 'signature', name=op.f('uq_import_mappings_tenant_id_kind_signature'))
    )
    op.create_table('import_runs',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('stored_as', sa.String(length=300), nullable=False),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('mapping', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('default_store_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_import_runs_tenant_id_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_runs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_runs'))
    )
    op.create_index('ix_import_runs_tenant_created', 'import_runs', ['tenant_id', 'created_at'], unique=False)
    op.create_table('import_row_errors',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('values', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('messages', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'run_id'], ['import_runs.tenant_id', 'import_runs.id'], name=op.f('fk_import_row_errors_tenant_id_run_id_import_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_row_errors_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_row_errors')),
    sa.UniqueConstraint('tenant_id', 'run_id', 'row_number', name=op.f('uq_import_row_errors_tenant_id_run_id_row_number'))
    )
    for table in ("import_mappings", "import_runs", "import_row_errors"):
        enable_rls(op, table)


def downgrade():
    op.drop_table('import_row_errors')
    op.drop_index('ix_import_runs_tenant_created', table_name='import_runs')
    op.drop_table('import_runs')
    op.drop_table('import_mappings')
