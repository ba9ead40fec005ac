"""report builder (saved reports), survey reminders

Revision ID: b7d2c4e6f813
Revises: d4e1f0a9b2c3
Create Date: 2026-12-03 12:10:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from storecrm.tenancy.ddl import enable_rls

revision = 'b7d2c4e6f813'
down_revision = 'd4e1f0a9b2c3'
branch_labels = None
depends_on = None

GRANTS = {"admin": ["reports.build"], "manager": ["reports.build"]}


def upgrade():
    op.create_table('saved_reports',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('spec', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_saved_reports_tenant_id_created_by_id_users'), ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_saved_reports_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_saved_reports'))
    )
    op.create_index('ix_saved_reports_tenant_name', 'saved_reports', ['tenant_id', 'name'], unique=False)
    enable_rls(op, 'saved_reports')
    op.add_column('surveys', sa.Column('reminder_days', sa.Integer(), server_default='3', nullable=True))
    op.add_column('survey_invitations', sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('survey_invitations', sa.Column('reminder_token_hash', sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f('uq_survey_invitations_tenant_id_reminder_token_hash'), 'survey_invitations',
                                ['tenant_id', 'reminder_token_hash'])
    # existing tenants' built-in roles get the permission new tenants get (core_plugin.register_default_grants)
    op.execute("ALTER TABLE roles NO FORCE ROW LEVEL SECURITY")
    for role, codes in GRANTS.items():
        op.execute(sa.text(
            "UPDATE roles SET permissions = ARRAY(SELECT DISTINCT unnest(permissions || CAST(:codes AS varchar[])) "
            "ORDER BY 1) WHERE code = :role AND builtin").bindparams(role=role, codes=codes))
    op.execute("ALTER TABLE roles FORCE ROW LEVEL SECURITY")


def downgrade():
    op.drop_constraint(op.f('uq_survey_invitations_tenant_id_reminder_token_hash'), 'survey_invitations',
                       type_='unique')
    op.drop_column('survey_invitations', 'reminder_token_hash')
    op.drop_column('survey_invitations', 'reminded_at')
    op.drop_column('surveys', 'reminder_days')
    op.drop_index('ix_saved_reports_tenant_name', table_name='saved_reports')
    op.drop_table('saved_reports')
