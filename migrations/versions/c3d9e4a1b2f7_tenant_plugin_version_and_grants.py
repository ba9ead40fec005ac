"""tenant plugins: the plugin version a tenant runs and the default grants already applied to it

Revision ID: c3d9e4a1b2f7
Revises: 91bf6218385d
Create Date: 2026-12-03 04:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'c3d9e4a1b2f7'
down_revision = '91bf6218385d'
branch_labels = None
depends_on = None


def upgrade():
    # NULL for rows enabled before this: which grants they got is unknown, so the first sync records what the
    # roles hold instead of adding anything (an admin may have removed a grant on purpose)
    op.add_column('tenant_plugins', sa.Column('version', sa.String(length=40), nullable=True))
    op.add_column('tenant_plugins', sa.Column('grants_applied', postgresql.JSONB(astext_type=sa.Text()),
                                              nullable=True))


def downgrade():
    op.drop_column('tenant_plugins', 'grants_applied')
    op.drop_column('tenant_plugins', 'version')
