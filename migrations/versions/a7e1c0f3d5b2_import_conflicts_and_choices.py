"""imports: conflicts reported apart from errors, rows skipped by choice, update-or-leave for customers found

Revision ID: a7e1c0f3d5b2
Revises: c3d9e4a1b2f7
Create Date: 2026-12-03 07:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'a7e1c0f3d5b2'
down_revision = 'c3d9e4a1b2f7'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('import_runs', sa.Column('conflict_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('import_runs', sa.Column('skipped_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('import_runs', sa.Column('update_existing', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('import_runs', sa.Column('skip_rows', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                           server_default='[]'))
    op.add_column('import_row_errors', sa.Column('kind', sa.String(length=10), nullable=False,
                                                 server_default='error'))


def downgrade():
    op.drop_column('import_row_errors', 'kind')
    op.drop_column('import_runs', 'skip_rows')
    op.drop_column('import_runs', 'update_existing')
    op.drop_column('import_runs', 'skipped_count')
    op.drop_column('import_runs', 'conflict_count')
