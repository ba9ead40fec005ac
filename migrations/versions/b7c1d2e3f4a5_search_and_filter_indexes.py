"""search and filter indexes: trigram GIN on names, phones and identities; GIN on tags and custom values

Revision ID: b7c1d2e3f4a5
Revises: ef55770f04cb
"""
from alembic import op

revision = "b7c1d2e3f4a5"
down_revision = "ef55770f04cb"
branch_labels = None
depends_on = None


def upgrade():
    # both are trusted extensions: the database owner may create them (no superuser needed)
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("CREATE INDEX ix_customers_tenant_search ON customers "
               "USING gin (tenant_id, name gin_trgm_ops, mobile gin_trgm_ops)")
    op.execute("CREATE INDEX ix_customers_tenant_tags ON customers USING gin (tenant_id, tags)")
    op.execute("CREATE INDEX ix_customers_tenant_custom ON customers USING gin (tenant_id, custom jsonb_path_ops)")
    op.execute("CREATE INDEX ix_customer_identities_tenant_search ON customer_identities "
               "USING gin (tenant_id, value gin_trgm_ops)")


def downgrade():
    for name in ("ix_customer_identities_tenant_search", "ix_customers_tenant_custom", "ix_customers_tenant_tags",
                 "ix_customers_tenant_search"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
