"""notifications, outbox, timers, task reminders

Revision ID: b5b69644e17f
Revises: b7c1d2e3f4a5
Create Date: 2026-11-22 20:36:17.998672
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'b5b69644e17f'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_messages',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outbox_messages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('tenant_id', 'dedupe_key', name=op.f('uq_outbox_messages_tenant_id_dedupe_key'))
    )
    enable_rls(op, "outbox_messages")
    op.create_index('ix_outbox_messages_tenant_due', 'outbox_messages', ['tenant_id', 'next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('timers',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_timers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_timers')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_timers_tenant_id_key'))
    )
    enable_rls(op, "timers")
    op.create_index('ix_timers_tenant_due', 'timers', ['tenant_id', 'due_at'], unique=False, postgresql_where=sa.text('fired_at IS NULL'))
    op.create_table('notifications',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=300), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_notifications_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notifications_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_notifications'))
    )
    enable_rls(op, "notifications")
    op.create_index('ix_notifications_tenant_user_unread', 'notifications', ['tenant_id', 'user_id', 'read_at', 'id'], unique=False)
    op.add_column('tasks', sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('tasks', 'remind_at')
    op.drop_index('ix_notifications_tenant_user_unread', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('ix_timers_tenant_due', table_name='timers', postgresql_where=sa.text('fired_at IS NULL'))
    op.drop_table('timers')
    op.drop_index('ix_outbox_messages_tenant_due', table_name='outbox_messages', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('outbox_messages')
