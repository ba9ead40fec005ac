"""car wash tables

Revision ID: carwash_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from storecrm.sdk.migrations import enable_rls

revision = "carwash_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "carwash_types",
        sa.Column("tenant_id", sa.BigInteger(), sa.ForeignKey("tenants.id", ondelete="CASCADE",
                                                               name="fk_carwash_types_tenant_id_tenants"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_carwash_types"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_carwash_types_tenant_id_code"),
    )
    op.create_table(
        "carwash_washes",
        sa.Column("tenant_id", sa.BigInteger(), sa.ForeignKey("tenants.id", ondelete="CASCADE",
                                                               name="fk_carwash_washes_tenant_id_tenants"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("wash_type", sa.String(20), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("free", sa.Boolean(), nullable=False),
        sa.Column("washed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_carwash_washes"),
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"],
                                ondelete="CASCADE", name="fk_carwash_washes_tenant_id_customer_id_customers"),
    )
    op.create_index("ix_carwash_washes_tenant_customer", "carwash_washes", ["tenant_id", "customer_id"])
    op.create_index("ix_carwash_washes_tenant_at", "carwash_washes", ["tenant_id", "washed_at"])
    enable_rls(op, "carwash_types")
    enable_rls(op, "carwash_washes")


def downgrade():
    op.drop_table("carwash_washes")
    op.drop_table("carwash_types")
