"""Quotes and orders (one table, two kinds), their lines, quote revisions, payments and refunds."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow

MONEY = Numeric(14, 2)
PERCENT = Numeric(5, 2)
QUANTITY = Numeric(12, 3)

QUOTE_STATES = ("draft", "sent", "accepted", "declined", "expired")
ORDER_STATES = ("draft", "confirmed", "fulfilled", "closed", "cancelled")
PAYMENT_METHODS = ("cash", "wechat_pay", "alipay", "bank_card", "transfer", "stored_value")
INVOICE_STATES = ("none", "requested", "issued", "voided")


class SalesDocument(TenantScoped, Timestamped):
    """A quote (报价单) or an order (订单): header, totals (storecrm.sales.totals), links to the customer, asset,
    store, staff and the plugin record it belongs to (`source_type`/`source_id`: an install job, a repair order…)."""

    __tablename__ = "sales_documents"
    __table_args__ = (
        tenant_fk("store_id", "stores"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("asset_id", "assets", ondelete="SET NULL"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        tenant_fk("quote_id", "sales_documents"),
        tenant_fk("approval_item_id", "workflow_items", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "kind", "number", name="uq_sales_documents_tenant_kind_number"),
        UniqueConstraint("tenant_id", "share_token", name="uq_sales_documents_tenant_share_token"),
        Index("ix_sales_documents_tenant_customer", "tenant_id", "customer_id", "kind", "id"),
        Index("ix_sales_documents_tenant_kind_state", "tenant_id", "kind", "state", "id"),
        Index("ix_sales_documents_tenant_source", "tenant_id", "source_type", "source_id"),
        Index("ix_sales_documents_tenant_quote", "tenant_id", "quote_id"),
        CheckConstraint("paid_total >= 0 AND refunded_total >= 0 AND refunded_total <= paid_total",
                        name="money_received"),
    )
    __mapper_args__ = {"polymorphic_on": "kind"}

    kind: Mapped[str] = mapped_column(String(10))  # quote | order
    number: Mapped[str | None] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    store_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    asset_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    source_type: Mapped[str | None] = mapped_column(String(40))  # reference_type of a plugin record
    source_id: Mapped[int | None] = mapped_column(BigInteger)  # reference_id
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    header_discount_pct: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    paid_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    refunded_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    notes: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # quotes
    revision: Mapped[int] = mapped_column(Integer, default=1)
    valid_until: Mapped[date | None] = mapped_column(Date)
    share_token: Mapped[str | None] = mapped_column(String(64))
    deposit_pct: Mapped[Decimal | None] = mapped_column(PERCENT)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_name: Mapped[str | None] = mapped_column(String(80))
    signature: Mapped[str | None] = mapped_column(Text)  # data:image/png;base64,… drawn on the share page
    closed_reason: Mapped[str | None] = mapped_column(String(200))  # declined / expired note
    approval_item_id: Mapped[int | None] = mapped_column(BigInteger)  # the workflow item approving this revision
    # orders
    quote_id: Mapped[int | None] = mapped_column(BigInteger)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    invoice_number: Mapped[str | None] = mapped_column(String(40))
    invoice_state: Mapped[str] = mapped_column(String(12), default="none")

    @property
    def net_paid(self) -> Decimal:
        return (self.paid_total or Decimal(0)) - (self.refunded_total or Decimal(0))

    @property
    def balance_due(self) -> Decimal:
        return max((self.total or Decimal(0)) - self.net_paid, Decimal("0.00"))


class Quote(SalesDocument):
    __mapper_args__ = {"polymorphic_identity": "quote"}


class Order(SalesDocument):
    __mapper_args__ = {"polymorphic_identity": "order"}


class SalesLine(TenantScoped):
    """One line: a catalog item (copied: name, SKU, price at the time) or free text. Figures per storecrm.sales.totals.
    `package_item_id` names the package it was expanded from; `optional` lines count only when `selected`."""

    __tablename__ = "sales_lines"
    __table_args__ = (
        tenant_fk("document_id", "sales_documents", ondelete="CASCADE"),
        tenant_fk("item_id", "catalog_items"),  # the database refuses another tenant's item
        tenant_fk("package_item_id", "catalog_items", ondelete="SET NULL"),
        tenant_fk("advisor_id", "users", ondelete="SET NULL"),
        tenant_fk("technician_id", "users", ondelete="SET NULL"),
        Index("ix_sales_lines_tenant_document", "tenant_id", "document_id", "position"),
        Index("ix_sales_lines_tenant_item", "tenant_id", "item_id"),
        CheckConstraint("quantity > 0 AND unit_price >= 0 AND discount_pct BETWEEN 0 AND 100 "
                        "AND tax_rate BETWEEN 0 AND 100", name="figures"),
    )

    document_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer, default=0)
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    item_kind: Mapped[str | None] = mapped_column(String(20))  # product | service | part (labour shows apart)
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300))
    package_item_id: Mapped[int | None] = mapped_column(BigInteger)
    package_name: Mapped[str | None] = mapped_column(String(200))
    serial_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_pct: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    header_discount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    tax: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    optional: Mapped[bool] = mapped_column(Boolean, default=False)
    selected: Mapped[bool] = mapped_column(Boolean, default=True)
    # staff credit (commission reports): advisor and technician share the line
    advisor_id: Mapped[int | None] = mapped_column(BigInteger)
    technician_id: Mapped[int | None] = mapped_column(BigInteger)
    technician_share_pct: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    fulfilled_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"))
    issued_serials: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")

    @property
    def counts(self) -> bool:
        return self.selected or not self.optional

    @property
    def line_total(self) -> Decimal:
        return self.amount - self.header_discount + self.tax


class QuoteRevision(TenantScoped):
    """A quote as it stood before it was revised: header, lines and totals, readable later."""

    __tablename__ = "quote_revisions"
    __table_args__ = (
        tenant_fk("quote_id", "sales_documents", ondelete="CASCADE"),
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "quote_id", "revision", name="uq_quote_revisions_tenant_quote_revision"),
    )

    quote_id: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSONB)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Payment(TenantScoped):
    """Money recorded against an order (not processed here): `kind` payment or refund, `amount` always positive.
    `request_key` makes a form or till retry record nothing twice; refunds may list stock returned."""

    __tablename__ = "payments"
    __table_args__ = (
        tenant_fk("document_id", "sales_documents"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "request_key", name="uq_payments_tenant_request_key"),
        Index("ix_payments_tenant_document", "tenant_id", "document_id", "id"),
        Index("ix_payments_tenant_customer", "tenant_id", "customer_id", "received_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    document_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10), default="payment")  # payment | refund
    method: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reference: Mapped[str | None] = mapped_column(String(80))  # the till's / WeChat's transaction number
    note: Mapped[str | None] = mapped_column(String(200))
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    request_key: Mapped[str | None] = mapped_column(String(80))
    returned: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")  # [{line_id, quantity, serials}]


DEPOSIT_STATES = ("held", "applied", "refunding", "refunded")


class QuoteDeposit(TenantScoped):
    """A deposit (定金) paid on a quote: held while the quote is open, carried over once as a payment of the order
    when the quote is accepted (`order_payment_id`), or given back when the quote is declined or expired.
    `request_key` makes a till retry or a provider's repeated notification ("wechatpay:<transaction id>") record
    nothing twice; a deposit paid online (`method` "wechat_pay") is refunded through its provider ("refunding"
    until the provider confirms)."""

    __tablename__ = "quote_deposits"
    __table_args__ = (
        tenant_fk("quote_id", "sales_documents"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        tenant_fk("order_payment_id", "payments", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "request_key", name="uq_quote_deposits_tenant_request_key"),
        Index("ix_quote_deposits_tenant_quote", "tenant_id", "quote_id", "id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    quote_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    state: Mapped[str] = mapped_column(String(12), default="held")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reference: Mapped[str | None] = mapped_column(String(80))  # the till's / WeChat's transaction number
    note: Mapped[str | None] = mapped_column(String(200))
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    request_key: Mapped[str | None] = mapped_column(String(80))
    order_payment_id: Mapped[int | None] = mapped_column(BigInteger)
    refund_reason: Mapped[str | None] = mapped_column(String(200))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
