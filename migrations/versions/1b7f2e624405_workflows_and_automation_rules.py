"""workflows and automation rules

Revision ID: 1b7f2e624405
Revises: 38f5cd689439
Create Date: 2026-11-22 22:09:05.772322
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = '1b7f2e624405'
down_revision = '38f5cd689439'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rules',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('trigger', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('conditions', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('actions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_hour', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rules'))
    )
    op.create_index('ix_rules_tenant_entity', 'rules', ['tenant_id', 'entity', 'enabled'], unique=False)
    op.create_table('rule_firings',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rule_id', sa.BigInteger(), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('occurrence', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outcome', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'rule_id'], ['rules.tenant_id', 'rules.id'], name=op.f('fk_rule_firings_tenant_id_rule_id_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rule_firings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rule_firings')),
    sa.UniqueConstraint('tenant_id', 'rule_id', 'record_id', 'occurrence', name=op.f('uq_rule_firings_tenant_id_rule_id_record_id_occurrence'))
    )
    op.create_index('ix_rule_firings_tenant_customer', 'rule_firings', ['tenant_id', 'customer_id', 'fired_at'], unique=False)
    op.create_index('ix_rule_firings_tenant_rule', 'rule_firings', ['tenant_id', 'rule_id', 'id'], unique=False)
    op.create_table('workflow_definitions',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_workflow_definitions_tenant_id_created_by_id_users'), ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_definitions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_workflow_definitions')),
    sa.UniqueConstraint('tenant_id', 'code', 'version', name=op.f('uq_workflow_definitions_tenant_id_code_version'))
    )
    op.create_index('ix_workflow_definitions_tenant_current', 'workflow_definitions', ['tenant_id', 'entity'], unique=False, postgresql_where=sa.text('is_current'))
    op.create_table('workflow_items',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('definition_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_step', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.BigInteger(), nullable=True),
    sa.Column('pending', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'assignee_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_workflow_items_tenant_id_assignee_id_users'), ondelete='SET NULL (assignee_id)'),
    sa.ForeignKeyConstraint(['tenant_id', 'definition_id'], ['workflow_definitions.tenant_id', 'workflow_definitions.id'], name=op.f('fk_workflow_items_tenant_id_definition_id_workflow_definitions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_items_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_workflow_items'))
    )
    op.create_index('ix_workflow_items_tenant_assignee', 'workflow_items', ['tenant_id', 'assignee_id', 'deadline_at'], unique=False, postgresql_where=sa.text('finished_at IS NULL'))
    op.create_index('ix_workflow_items_tenant_open_state', 'workflow_items', ['tenant_id', 'definition_id', 'state'], unique=False, postgresql_where=sa.text('finished_at IS NULL'))
    op.create_index('ix_workflow_items_tenant_record', 'workflow_items', ['tenant_id', 'entity', 'record_id'], unique=False)
    op.create_index('uq_workflow_items_running', 'workflow_items', ['tenant_id', 'entity', 'record_id', 'code'], unique=True, postgresql_where=sa.text('finished_at IS NULL'))
    op.create_table('asset_readings',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('asset_id', sa.BigInteger(), nullable=False),
    sa.Column('read_on', sa.Date(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('service', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_asset_readings_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_asset_readings_tenant_id_created_by_id_users'), ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_asset_readings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asset_readings'))
    )
    op.create_index('ix_asset_readings_tenant_asset', 'asset_readings', ['tenant_id', 'asset_id', 'read_on'], unique=False)
    op.create_table('workflow_steps',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('item_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('transition', sa.String(length=40), nullable=True),
    sa.Column('from_state', sa.String(length=40), nullable=True),
    sa.Column('to_state', sa.String(length=40), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('seconds_in_state', sa.Integer(), nullable=True),
    sa.Column('files', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'actor_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_workflow_steps_tenant_id_actor_id_users'), ondelete='SET NULL (actor_id)'),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['workflow_items.tenant_id', 'workflow_items.id'], name=op.f('fk_workflow_steps_tenant_id_item_id_workflow_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workflow_steps_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_workflow_steps'))
    )
    op.create_index('ix_workflow_steps_tenant_item', 'workflow_steps', ['tenant_id', 'item_id', 'id'], unique=False)
    enable_rls(op, "rules")
    enable_rls(op, "rule_firings")
    enable_rls(op, "workflow_definitions")
    enable_rls(op, "workflow_items")
    enable_rls(op, "asset_readings")
    enable_rls(op, "workflow_steps")


def downgrade():
    op.drop_index('ix_workflow_steps_tenant_item', table_name='workflow_steps')
    op.drop_table('workflow_steps')
    op.drop_index('ix_asset_readings_tenant_asset', table_name='asset_readings')
    op.drop_table('asset_readings')
    op.drop_index('uq_workflow_items_running', table_name='workflow_items', postgresql_where=sa.text('finished_at IS NULL'))
    op.drop_index('ix_workflow_items_tenant_record', table_name='workflow_items')
    op.drop_index('ix_workflow_items_tenant_open_state', table_name='workflow_items', postgresql_where=sa.text('finished_at IS NULL'))
    op.drop_index('ix_workflow_items_tenant_assignee', table_name='workflow_items', postgresql_where=sa.text('finished_at IS NULL'))
    op.drop_table('workflow_items')
    op.drop_index('ix_workflow_definitions_tenant_current', table_name='workflow_definitions', postgresql_where=sa.text('is_current'))
    op.drop_table('workflow_definitions')
    op.drop_index('ix_rule_firings_tenant_rule', table_name='rule_firings')
    op.drop_index('ix_rule_firings_tenant_customer', table_name='rule_firings')
    op.drop_table('rule_firings')
    op.drop_index('ix_rules_tenant_entity', table_name='rules')
    op.drop_table('rules')
