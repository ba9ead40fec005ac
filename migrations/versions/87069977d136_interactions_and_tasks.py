"""interactions and tasks

Revision ID: 87069977d136
Revises: 75fa457ed6af
Create Date: 2026-11-22 17:59:55.363547
"""
from alembic import op
import sqlalchemy as sa

from storecrm.tenancy.ddl import enable_rls

revision = '87069977d136'
down_revision = '75fa457ed6af'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interactions',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_interactions_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_interactions_tenant_id_user_id_users'), ondelete='SET NULL (user_id)'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_interactions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_interactions'))
    )
    op.create_index('ix_interactions_tenant_customer_at', 'interactions', ['tenant_id', 'customer_id', 'occurred_at'], unique=False)
    op.create_table('tasks',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignee_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('related_type', sa.String(length=40), nullable=True),
    sa.Column('related_id', sa.BigInteger(), nullable=True),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'assignee_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_tasks_tenant_id_assignee_id_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_tasks_tenant_id_created_by_id_users'), ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_tasks_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tasks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tasks'))
    )
    op.create_index('ix_tasks_tenant_assignee_status_due', 'tasks', ['tenant_id', 'assignee_id', 'status', 'due_at'], unique=False)
    op.create_index('ix_tasks_tenant_customer', 'tasks', ['tenant_id', 'customer_id'], unique=False)
    enable_rls(op, "interactions")
    enable_rls(op, "tasks")


def downgrade():
    op.drop_index('ix_tasks_tenant_customer', table_name='tasks')
    op.drop_index('ix_tasks_tenant_assignee_status_due', table_name='tasks')
    op.drop_table('tasks')
    op.drop_index('ix_interactions_tenant_customer_at', table_name='interactions')
    op.drop_table('interactions')
