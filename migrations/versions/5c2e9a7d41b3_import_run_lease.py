"""import runs: a lease (heartbeat, attempt) so stalled imports resume; the job counts the rows

Revision ID: 5c2e9a7d41b3
Revises: 861f3fd836a6
Create Date: 2026-12-03 04:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '5c2e9a7d41b3'
down_revision = '861f3fd836a6'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('import_runs', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('import_runs', sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))
    op.alter_column('import_runs', 'attempt', server_default=None)
    op.alter_column('import_runs', 'total_rows', existing_type=sa.Integer(), nullable=True)
    # runs left queued or running before there was a lease: stale at once, so the sweep resumes them
    # (the owner is under FORCE ROW LEVEL SECURITY too: lifted for this one statement across tenants)
    op.execute("ALTER TABLE import_runs NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE import_runs SET heartbeat_at = created_at WHERE status IN ('queued', 'running')")
    op.execute("ALTER TABLE import_runs FORCE ROW LEVEL SECURITY")


def downgrade():
    op.execute("ALTER TABLE import_runs NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE import_runs SET total_rows = 0 WHERE total_rows IS NULL")
    op.execute("ALTER TABLE import_runs FORCE ROW LEVEL SECURITY")
    op.alter_column('import_runs', 'total_rows', existing_type=sa.Integer(), nullable=False)
    op.drop_column('import_runs', 'attempt')
    op.drop_column('import_runs', 'heartbeat_at')
