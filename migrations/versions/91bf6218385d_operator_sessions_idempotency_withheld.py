"""operator sessions server-side; idempotency records keep no secrets

Revision ID: 91bf6218385d
Revises: 5c2e9a7d41b3
Create Date: 2026-12-03 05:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '91bf6218385d'
down_revision = '5c2e9a7d41b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operator_sessions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('operator_id', sa.BigInteger(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_operator_sessions_operator_id_operators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_sessions')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_operator_sessions_secret_hash'))
    )
    op.create_index(op.f('ix_operator_sessions_operator_id'), 'operator_sessions', ['operator_id'], unique=False)
    op.add_column('idempotency_keys', sa.Column('withheld', postgresql.ARRAY(sa.String(length=40)), nullable=True))
    # Records written before this revision may hold a new API token or a webhook signing secret in plain text:
    # strip them and mark the records, whose replay is then refused like new ones. The owner role is subject to
    # the forced row-level security policy, so it is lifted for this one statement (DDL is transactional here).
    op.execute('ALTER TABLE idempotency_keys NO FORCE ROW LEVEL SECURITY')
    op.execute("UPDATE idempotency_keys SET body = body - 'token', withheld = ARRAY['token'] "
               "WHERE jsonb_typeof(body) = 'object' AND body ? 'token' AND body ? 'hint'")
    op.execute("UPDATE idempotency_keys SET body = body - 'secret', withheld = ARRAY['secret'] "
               "WHERE jsonb_typeof(body) = 'object' AND body ? 'secret' AND body ? 'url'")
    op.execute('ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY')


def downgrade():
    op.drop_column('idempotency_keys', 'withheld')
    op.drop_index(op.f('ix_operator_sessions_operator_id'), table_name='operator_sessions')
    op.drop_table('operator_sessions')
