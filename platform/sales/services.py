"""Quotes, orders, payments and refunds: the only place that writes them (pages, API, jobs and the SDK call here).

Every function runs inside the caller's tenant and transaction and raises marshmallow.ValidationError (field ->
messages in the user's language) before writing anything it refuses. Money is Decimal; totals follow
storecrm.sales.totals. Payments and refunds lock their order row (SELECT … FOR UPDATE), so two tills recording at
once are serialised and "never refund more than was paid" holds; the customer's spend is updated in the same
transaction, on the customer row locked the same way.
"""
from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from ..assets.models import Asset
from ..audit.services import record, snapshot
from ..calendar import tenant_currency, tenant_today, tenant_zone
from ..catalog import services as catalog
from ..customers.models import Customer
from ..customers.services import get_customer
from ..events import (CustomerChanged, OrderConfirmed, OrderPaid, OrderRefunded, QuoteAccepted, QuoteExpired,
                      QuoteSent, RecordEvent, emit)
from ..extensions import db
from ..keyset import page
from ..stock import services as stock
from ..stores.models import Store
from ..tenancy.models import get_scoped, utcnow
from ..timers import cancel as cancel_timer
from ..timers import handler as timer_handler
from ..timers import schedule as schedule_timer
from ..users.models import User
from ..workflow import engine as workflows
from . import totals
from .models import Order, Payment, Quote, QuoteRevision, SalesDocument, SalesLine

EXPIRY_TIMER = "sales.quote_expiry"
APPROVAL_ENTITY = "quote"
MAX_LINES = 200


def _err(field: str, message: str):
    raise ValidationError({field: [message]})


# --- reading ------------------------------------------------------------------------------------------------------

def sees(user, document: SalesDocument | None) -> bool:
    """Whether `user` (None: a job or plugin acting for the tenant) may see this document: its store is theirs."""
    if document is None:
        return False
    return user is None or user.sees_all_stores or document.store_id in user.store_ids


def get_quote(user, quote_id) -> Quote | None:
    quote = get_scoped(Quote, quote_id)
    return quote if isinstance(quote, Quote) and sees(user, quote) else None


def get_order(user, order_id) -> Order | None:
    order = get_scoped(Order, order_id)
    return order if isinstance(order, Order) and sees(user, order) else None


def get_document(user, document_id) -> SalesDocument | None:
    document = get_scoped(SalesDocument, document_id)
    return document if sees(user, document) else None


def lines_of(document: SalesDocument) -> list[SalesLine]:
    return list(db.session.scalars(select(SalesLine).where(SalesLine.document_id == document.id)
                                   .order_by(SalesLine.position, SalesLine.id)))


def payments_of(order: SalesDocument) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.document_id == order.id).order_by(Payment.id)))


def revisions_of(quote: Quote) -> list[QuoteRevision]:
    return list(db.session.scalars(select(QuoteRevision).where(QuoteRevision.quote_id == quote.id)
                                   .order_by(QuoteRevision.revision.desc())))


def quote_by_token(token: str) -> Quote | None:
    """The sent (or answered) quote behind a share link in the current tenant; None for anything else."""
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    quote = db.session.scalar(select(Quote).where(Quote.share_token == token))
    if quote is None or quote.state == "draft":
        return None
    return quote


def order_of_quote(quote: Quote) -> Order | None:
    return db.session.scalar(select(Order).where(Order.quote_id == quote.id).order_by(Order.id).limit(1))


def documents_from(source_type: str, source_id: int) -> list[SalesDocument]:
    """Documents created for a plugin record (an install job, a repair order), oldest first."""
    return list(db.session.scalars(select(SalesDocument).where(
        SalesDocument.source_type == source_type, SalesDocument.source_id == source_id).order_by(SalesDocument.id)))


SORTS = {"newest": (SalesDocument.id, True), "oldest": (SalesDocument.id, False),
         "total": (SalesDocument.total, True)}


def list_documents(user, kind: str, *, state: str | None = None, customer_id=None, store_id=None, q: str = "",
                   after_id=None, limit: int = 50, sort: str = "newest") -> list[SalesDocument]:
    """Quotes or orders in `user`'s stores, keyset-paged (pass the last row's id as `after_id`)."""
    model = Quote if kind == "quote" else Order
    query = select(model)
    if user is not None and not user.sees_all_stores:
        query = query.where(model.store_id.in_(user.store_ids or [-1]))
    if state:
        query = query.where(model.state == state)
    if customer_id:
        query = query.where(model.customer_id == customer_id)
    if store_id:
        query = query.where(model.store_id == store_id)
    if q:
        query = query.where(model.number.ilike(f"%{q.strip()[:30]}%"))
    column, descending = SORTS.get(sort, SORTS["newest"])
    if column is SalesDocument.id:
        column = model.id
    elif column is SalesDocument.total:
        column = model.total
    return list(db.session.scalars(page(query, model, column, descending, after_id).limit(limit)))


def documents_for_customer(customer_id: int, limit: int = 12) -> list[SalesDocument]:
    """The customer's latest quotes and orders (the customer page panel): one query, whatever their number."""
    return list(db.session.scalars(select(SalesDocument).where(SalesDocument.customer_id == customer_id)
                                   .order_by(SalesDocument.id.desc()).limit(limit)))


# --- creating and editing documents -------------------------------------------------------------------------------

def _check_header(user, data: dict, document: SalesDocument | None) -> dict:
    errors: dict[str, list] = {}
    out = {}
    if document is None:
        customer = get_customer(user, data.get("customer_id")) if user is not None else \
            get_scoped(Customer, data.get("customer_id"))
        if customer is None or customer.deleted_at is not None:
            errors["customer_id"] = [_("Choose one of the listed options.")]
        out["customer"] = customer
        store_id = data.get("store_id") or (customer.store_id if customer is not None else None)
        store = get_scoped(Store, store_id) if store_id else None
        if store is None or (user is not None and not user.sees_all_stores and store.id not in user.store_ids):
            errors["store_id"] = [_("Choose one of your stores.")]
        out["store"] = store
        customer_id = getattr(customer, "id", None)
    else:
        customer_id = document.customer_id
    if data.get("asset_id"):
        asset = get_scoped(Asset, data["asset_id"])
        if asset is None or asset.deleted_at is not None or asset.customer_id != customer_id:
            errors["asset_id"] = [_("Choose one of this customer's assets.")]
    if data.get("valid_until") and data["valid_until"] < tenant_today():
        errors["valid_until"] = [_("The date cannot be in the past.")]
    if bool(data.get("source_type")) != bool(data.get("source_id")):
        errors["source_id"] = [_("Give both the record type and its id, or neither.")]
    if errors:
        raise ValidationError(errors)
    return out


def _new_document(model, user, data: dict, checked: dict) -> SalesDocument:
    document = model(store_id=checked["store"].id, customer_id=checked["customer"].id, asset_id=data.get("asset_id"),
                     staff_id=getattr(user, "id", None), source_type=data.get("source_type"),
                     source_id=data.get("source_id"), currency=tenant_currency(),
                     header_discount_pct=data.get("header_discount_pct") or Decimal(0),
                     valid_until=data.get("valid_until"), deposit_pct=data.get("deposit_pct"),
                     notes=data.get("notes"), state="draft", revision=1)
    db.session.add(document)
    db.session.flush()
    document.number = f"{'Q' if model is Quote else 'SO'}{document.id:06d}"
    for line in data.get("lines") or []:
        add_line(user, document, line, _recompute=False)
    recompute(document)
    record("create", document.kind, document.id, document.number, after=snapshot(document))
    emit(RecordEvent(document.kind, document, "created", {}))
    return document


def create_quote(user, data: dict) -> Quote:
    """A draft quote for a customer (lines optional): store defaults to the customer's; `source_type`/`source_id`
    link it to a plugin record."""
    if data.get("valid_until") is None:
        data = {**data, "valid_until": tenant_today() + timedelta(days=14)}
    return _new_document(Quote, user, data, _check_header(user, data, None))


def create_order(user, data: dict) -> Order:
    """A draft order straight away (a sale at the till, a repair order's parts and labour)."""
    data = {**data, "valid_until": None}
    return _new_document(Order, user, data, _check_header(user, data, None))


def _editable(document: SalesDocument) -> None:
    if document.state != "draft":
        _err("state", _("Only a draft can be changed. Revise the quote to change it again.")
             if document.kind == "quote" else _("Only a draft order can be changed."))


def update_header(user, document: SalesDocument, data: dict) -> SalesDocument:
    _editable(document)
    _check_header(user, data, document)
    before = snapshot(document)
    for key in ("asset_id", "valid_until", "deposit_pct", "notes"):
        if key in data:
            setattr(document, key, data[key])
    if "header_discount_pct" in data:
        document.header_discount_pct = data["header_discount_pct"] or Decimal(0)
    recompute(document)
    record("update", document.kind, document.id, document.number, before=before, after=snapshot(document))
    return document


def _staff(user_id, field: str):
    if user_id is None:
        return None
    staff = get_scoped(User, user_id)
    if staff is None or not staff.active:
        _err(field, _("Choose an active staff member."))
    return staff.id


def _next_position(document: SalesDocument) -> int:
    return (db.session.scalar(select(func.max(SalesLine.position)).where(SalesLine.document_id == document.id))
            or 0) + 1


def add_line(user, document: SalesDocument, data: dict, *, _recompute: bool = True) -> list[SalesLine]:
    """Add a line (LineSchema-loaded `data`): a catalog item of this tenant (a package expands into its component
    lines, each priced for the document's store) or free text. Returns the lines written."""
    _editable(document)
    count = db.session.scalar(select(func.count()).select_from(SalesLine).where(SalesLine.document_id == document.id))
    # an optional line counts only once the customer ticks it
    common = dict(discount_pct=data.get("discount_pct") or Decimal(0), optional=bool(data.get("optional")),
                  selected=not data.get("optional"),
                  advisor_id=_staff(data.get("advisor_id"), "advisor_id"),
                  technician_id=_staff(data.get("technician_id"), "technician_id"),
                  technician_share_pct=data.get("technician_share_pct") or Decimal(0))
    quantity = data.get("quantity") or Decimal(1)
    position = _next_position(document)
    written = []
    if data.get("item_id"):
        item = catalog.get_item(data["item_id"])
        if item is None or not item.active:
            _err("item_id", _("Choose an item from your catalog."))
        parts = catalog.expand_package(item, quantity)
        if count + len(parts) > MAX_LINES:
            _err("item_id", _("A document has at most %(n)s lines.", n=MAX_LINES))
        package = item if item.kind == "package" else None
        for component, qty in parts:
            single = package is None
            line = SalesLine(
                document_id=document.id, position=position, item_id=component.id, item_kind=component.kind,
                sku=component.sku, description=(data.get("description") if single and data.get("description")
                                                else component.name)[:300],
                package_item_id=package.id if package else None, package_name=package.name[:200] if package else None,
                serial_tracked=component.serial_tracked, unit=(data.get("unit") if single else None) or component.unit,
                quantity=qty.quantize(Decimal("0.001")),
                unit_price=data["unit_price"] if single and data.get("unit_price") is not None
                else totals.round_money(catalog.price_for(component, document.store_id)),
                tax_rate=data["tax_rate"] if data.get("tax_rate") is not None
                else (component.tax_rate * 100).quantize(Decimal("0.01")), **common)
            db.session.add(line)
            written.append(line)
            position += 1
    else:
        if count + 1 > MAX_LINES:
            _err("description", _("A document has at most %(n)s lines.", n=MAX_LINES))
        line = SalesLine(document_id=document.id, position=position, description=data["description"][:300],
                         unit=data.get("unit"), quantity=quantity, unit_price=data["unit_price"],
                         tax_rate=data.get("tax_rate") or Decimal(0), **common)
        db.session.add(line)
        written.append(line)
    db.session.flush()
    if _recompute:
        recompute(document)
    return written


def get_line(document: SalesDocument, line_id) -> SalesLine | None:
    line = get_scoped(SalesLine, line_id)
    return line if line is not None and line.document_id == document.id else None


def update_line(user, document: SalesDocument, line: SalesLine, data: dict) -> SalesLine:
    """Change quantity, price, discount, tax, optional flag or staff credit of a draft's line."""
    _editable(document)
    for key in ("quantity", "unit_price", "discount_pct", "tax_rate", "technician_share_pct"):
        if data.get(key) is not None:
            setattr(line, key, data[key])
    if "description" in data and data["description"]:
        line.description = data["description"][:300]
    if "optional" in data:
        line.optional = bool(data["optional"])
        line.selected = not line.optional
    if "advisor_id" in data:
        line.advisor_id = _staff(data["advisor_id"], "advisor_id")
    if "technician_id" in data:
        line.technician_id = _staff(data["technician_id"], "technician_id")
    recompute(document)
    return line


def remove_line(user, document: SalesDocument, line: SalesLine) -> None:
    _editable(document)
    db.session.delete(line)
    db.session.flush()
    recompute(document)


def recompute(document: SalesDocument, lines: list[SalesLine] | None = None) -> totals.Totals:
    """Write every line's figures and the document's totals (the rule in storecrm.sales.totals)."""
    lines = lines if lines is not None else lines_of(document)
    result = totals.compute(lines, document.header_discount_pct or Decimal(0))
    for line, figures in zip(lines, result.lines):
        line.amount, line.header_discount, line.tax = figures.amount, figures.header_discount, figures.tax
    document.subtotal, document.discount_total = result.subtotal, result.discount_total
    document.tax_total, document.total = result.tax_total, result.total
    db.session.flush()
    return result


def _copy_lines(source: SalesDocument, target: SalesDocument, *, only_counted: bool) -> None:
    for position, line in enumerate(lines_of(source), start=1):
        if only_counted and not line.counts:
            continue
        copy = SalesLine(document_id=target.id, position=position,
                         **{k: getattr(line, k) for k in (
                             "item_id", "item_kind", "sku", "description", "package_item_id", "package_name",
                             "serial_tracked", "unit", "quantity", "unit_price", "discount_pct", "tax_rate",
                             "advisor_id", "technician_id", "technician_share_pct")},
                         optional=False if only_counted else line.optional,
                         selected=True if only_counted else line.selected)
        db.session.add(copy)
    db.session.flush()


# --- quotes: approval, sending, revisions, answers, expiry --------------------------------------------------------

def approval_definition():
    """The tenant's active workflow on quotes (copied from the "Quote approval by amount" template), or None."""
    found = workflows.current_definitions(APPROVAL_ENTITY, active_only=True)
    return found[0] if found else None


def approval_item(quote: Quote):
    """The workflow item approving the quote's current revision, or None (a revision needs a new approval)."""
    return workflows.visible_item(_Anyone(), quote.approval_item_id) if quote.approval_item_id else None


def approval_state(quote: Quote) -> str:
    """"none" (no approval workflow in this tenant), "needed", "pending" or "approved" (its workflow finished)."""
    if approval_definition() is None:
        return "none"
    item = approval_item(quote)
    if item is None:
        return "needed"
    return "approved" if item.finished_at is not None else "pending"


def submit_for_approval(user, quote: Quote):
    """Start the tenant's quote approval on this quote and take its first transition: the amount tiers of the
    workflow (on the quote's `total`) decide who approves, or let it through."""
    _editable(quote)
    if not lines_of(quote):
        _err("lines", _("Add at least one line first."))
    definition = approval_definition()
    if definition is None:
        _err("approval", _("This workspace has no approval workflow for quotes."))
    item = approval_item(quote)
    if item is not None and (item.finished_at is not None or item.pending):
        _err("approval", _("This quote is already awaiting approval."))
    if item is None:
        item = workflows.start(user, APPROVAL_ENTITY, quote, definition.code)
        quote.approval_item_id = item.id
    moves = workflows.available(user, item, quote)
    if moves:
        workflows.move(user, item, moves[0]["code"])
    db.session.flush()
    return item


class _Anyone:
    """Reads on behalf of the document (its store was checked already)."""

    sees_all_stores = True
    store_ids: list = []


def send_quote(user, quote: Quote) -> Quote:
    """Draft -> sent: the share link works from now on and the quote expires after its valid-until day. A tenant
    with an approval workflow on quotes must have it finished (approved) first."""
    if quote.state != "draft":
        _err("state", _("Only a draft quote can be sent."))
    if not lines_of(quote):
        _err("lines", _("Add at least one line first."))
    if approval_state(quote) in ("needed", "pending"):
        _err("approval", _("This quote needs approval before it is sent."))
    if quote.valid_until is None or quote.valid_until < tenant_today():
        _err("valid_until", _("Give a valid-until date from today on."))
    quote.state, quote.sent_at = "sent", utcnow()
    quote.share_token = quote.share_token or secrets.token_urlsafe(32)
    end_of_day = datetime.combine(quote.valid_until + timedelta(days=1), time(0), tzinfo=tenant_zone())
    schedule_timer(f"{EXPIRY_TIMER}:{quote.id}", EXPIRY_TIMER, end_of_day, {"quote_id": quote.id})
    db.session.flush()
    record("update", "quote", quote.id, quote.number, before={"state": "draft"}, after={"state": "sent"})
    emit(QuoteSent(record=quote, changes={"state": ["draft", "sent"]}))
    return quote


def revise_quote(user, quote: Quote) -> Quote:
    """Back to draft to change it: the quote as it stood is kept as a revision (readable), the number stays and
    the revision counts up. Needs approval again where the tenant approves quotes."""
    if quote.state not in ("draft", "sent", "declined", "expired"):
        _err("state", _("An accepted quote cannot be revised."))
    db.session.add(QuoteRevision(quote_id=quote.id, revision=quote.revision, snapshot=_revision_snapshot(quote),
                                 created_by_id=getattr(user, "id", None)))
    before = quote.state
    quote.revision += 1
    quote.state, quote.sent_at, quote.closed_reason = "draft", None, None
    cancel_timer(f"{EXPIRY_TIMER}:{quote.id}")
    item = approval_item(quote)
    if item is not None and item.finished_at is None:
        item.finished_at, item.pending = utcnow(), None  # the old revision's approval is moot
    quote.approval_item_id = None
    db.session.flush()
    record("update", "quote", quote.id, quote.number, before={"state": before, "revision": quote.revision - 1},
           after={"state": "draft", "revision": quote.revision})
    return quote


def _revision_snapshot(quote: Quote) -> dict:
    return {
        "revision": quote.revision, "state": quote.state,
        "header": {k: str(getattr(quote, k)) if getattr(quote, k) is not None else None for k in (
            "header_discount_pct", "subtotal", "discount_total", "tax_total", "total", "valid_until", "deposit_pct",
            "notes")},
        "lines": [{"description": line.description, "sku": line.sku, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price), "discount_pct": str(line.discount_pct),
                   "tax_rate": str(line.tax_rate), "amount": str(line.amount), "optional": line.optional}
                  for line in lines_of(quote)],
    }


def accept_quote(quote: Quote, data: dict, *, user=None) -> Order:
    """The customer accepts (share link: typed name, drawn signature, optional lines ticked) or staff record it:
    sent -> accepted, and an order (draft) with the chosen lines is created from it."""
    if quote.state != "sent":
        _err("state", _("This quote can no longer be accepted."))
    if quote.valid_until is not None and quote.valid_until < tenant_today():
        _err("state", _("This quote has expired."))
    if user is None and not data.get("signature"):
        _err("signature", _("Draw your signature in the box."))
    lines = lines_of(quote)
    chosen = {int(i) for i in data.get("optional_line_ids") or []}
    unknown = chosen - {line.id for line in lines if line.optional}
    if unknown:
        _err("optional_line_ids", _("Choose among the optional lines of this quote."))
    for line in lines:
        if line.optional:
            line.selected = line.id in chosen
    recompute(quote, lines)
    quote.state, quote.accepted_at = "accepted", utcnow()
    quote.accepted_name, quote.signature = data["name"], data.get("signature")
    cancel_timer(f"{EXPIRY_TIMER}:{quote.id}")
    order = Order(store_id=quote.store_id, customer_id=quote.customer_id, asset_id=quote.asset_id,
                  staff_id=quote.staff_id, source_type=quote.source_type, source_id=quote.source_id,
                  currency=quote.currency, header_discount_pct=quote.header_discount_pct, quote_id=quote.id,
                  deposit_pct=quote.deposit_pct, notes=quote.notes, state="draft", revision=1)
    db.session.add(order)
    db.session.flush()
    order.number = f"SO{order.id:06d}"
    _copy_lines(quote, order, only_counted=True)
    recompute(order)
    record("update", "quote", quote.id, quote.number, before={"state": "sent"},
           after={"state": "accepted", "accepted_name": quote.accepted_name})
    record("create", "order", order.id, order.number, after=snapshot(order))
    from .deposits import carry_deposits  # imported here: deposits build on this module (a cycle)

    carry_deposits(quote, order)
    emit(QuoteAccepted(record=quote, changes={"state": ["sent", "accepted"]}, order=order))
    return order


def decline_quote(quote: Quote, reason: str | None = None, *, user=None) -> Quote:
    if quote.state != "sent":
        _err("state", _("This quote can no longer be declined."))
    quote.state, quote.closed_reason = "declined", (reason or "")[:200] or None
    cancel_timer(f"{EXPIRY_TIMER}:{quote.id}")
    db.session.flush()
    record("update", "quote", quote.id, quote.number, before={"state": "sent"}, after={"state": "declined"})
    emit(RecordEvent("quote", quote, "changed", {"state": ["sent", "declined"]}))
    return quote


def expire_quote(quote: Quote) -> bool:
    """Sent and past its valid-until day -> expired; True when it changed."""
    if quote.state != "sent" or quote.valid_until is None or quote.valid_until >= tenant_today():
        return False
    quote.state = "expired"
    db.session.flush()
    record("update", "quote", quote.id, quote.number, before={"state": "sent"}, after={"state": "expired"})
    emit(QuoteExpired(record=quote, changes={"state": ["sent", "expired"]}))
    return True


@timer_handler(EXPIRY_TIMER)
def _expire_on_timer(timer) -> None:
    quote = get_scoped(Quote, timer.payload.get("quote_id"))
    if isinstance(quote, Quote):
        expire_quote(quote)


def expire_due_quotes() -> int:
    """Expire every sent quote of the current tenant past its day (a sweep behind the exact-time timers)."""
    due = list(db.session.scalars(select(Quote).where(Quote.state == "sent", Quote.valid_until < tenant_today())
                                  .with_for_update(skip_locked=True)))
    return sum(expire_quote(q) for q in due)


# --- orders: confirm, fulfil, close, cancel -----------------------------------------------------------------------

def _ref(order: Order) -> tuple[str, int]:
    return ("sales_order", order.id)


def _location(user, order: Order, location_id):
    if location_id:
        location = stock.get_location(user, location_id)
        if location is None:
            _err("location_id", _("Choose one of your stock locations."))
        return location
    return stock.location_for_store(order.store_id)


def _stocked_lines(order: Order) -> list[tuple[SalesLine, object]]:
    out = []
    for line in lines_of(order):
        if line.item_id is None:
            continue
        item = catalog.get_item(line.item_id)
        if item is not None and item.stocked:
            out.append((line, item))
    return out


def _lock(order: SalesDocument) -> SalesDocument:
    """The order row, locked for this transaction and read fresh (payments, refunds and state changes queue here)."""
    return db.session.scalar(select(SalesDocument).where(SalesDocument.id == order.id)
                             .with_for_update().execution_options(populate_existing=True))


def confirm_order(user, order: Order, *, location_id=None) -> Order:
    """Draft -> confirmed: stock is reserved for its item lines at the store's location (or `location_id`)."""
    order = _lock(order)
    if order.state != "draft":
        _err("state", _("Only a draft order can be confirmed."))
    if not lines_of(order):
        _err("lines", _("Add at least one line first."))
    location = _location(user, order, location_id)
    for line, item in _stocked_lines(order):
        stock.reserve(item, location, line.quantity, reference=_ref(order), staff=user)
    order.state, order.confirmed_at = "confirmed", utcnow()
    db.session.flush()
    record("update", "order", order.id, order.number, before={"state": "draft"}, after={"state": "confirmed"})
    emit(OrderConfirmed(record=order, changes={"state": ["draft", "confirmed"]}))
    return order


def fulfil_order(user, order: Order, data: dict | None = None) -> Order:
    """Confirmed -> fulfilled: every stocked line is issued from the location (its reservation used first);
    serial-tracked lines need their serials (`data["serials"]` = {line id: [serial, …]}) and each serial becomes an
    asset of the customer."""
    data = data or {}
    order = _lock(order)
    if order.state != "confirmed":
        _err("state", _("Only a confirmed order can be fulfilled."))
    location = _location(user, order, data.get("location_id"))
    customer = db.session.get(Customer, (order.tenant_id, order.customer_id))
    serials = {str(k): v for k, v in (data.get("serials") or {}).items()}
    for line, item in _stocked_lines(order):
        names = [s for s in serials.get(str(line.id), []) if s]
        try:
            stock.issue(item, location, line.quantity, serials=names, reference=_ref(order), customer=customer,
                        staff=user)
        except ValidationError as err:
            messages = err.messages if isinstance(err.messages, dict) else {"quantity": err.messages}
            raise ValidationError({f"lines.{line.id}.{k}": v for k, v in messages.items()})
        line.fulfilled_quantity, line.issued_serials = line.quantity, names
    for line in lines_of(order):
        if line.fulfilled_quantity == 0:
            line.fulfilled_quantity = line.quantity  # labour and free text are delivered with the job
    order.state, order.fulfilled_at = "fulfilled", utcnow()
    db.session.flush()
    record("update", "order", order.id, order.number, before={"state": "confirmed"}, after={"state": "fulfilled"})
    emit(RecordEvent("order", order, "changed", {"state": ["confirmed", "fulfilled"]}))
    _close_if_settled(order)
    return order


def _close_if_settled(order: Order) -> None:
    if order.state == "fulfilled" and order.total > 0 and order.balance_due == 0:
        order.state, order.closed_at = "closed", utcnow()
        db.session.flush()
        record("update", "order", order.id, order.number, before={"state": "fulfilled"}, after={"state": "closed"})
        emit(RecordEvent("order", order, "changed", {"state": ["fulfilled", "closed"]}))


def close_order(user, order: Order) -> Order:
    order = _lock(order)
    if order.state != "fulfilled":
        _err("state", _("Only a fulfilled order can be closed."))
    if order.balance_due > 0:
        _err("state", _("The order still has a balance due."))
    order.state, order.closed_at = "closed", utcnow()
    db.session.flush()
    record("update", "order", order.id, order.number, before={"state": "fulfilled"}, after={"state": "closed"})
    emit(RecordEvent("order", order, "changed", {"state": ["fulfilled", "closed"]}))
    return order


def cancel_order(user, order: Order, reason: str | None = None) -> Order:
    """Draft or confirmed -> cancelled: its reservations are released. Money received must be refunded first."""
    order = _lock(order)
    if order.state not in ("draft", "confirmed"):
        _err("state", _("Only a draft or confirmed order can be cancelled."))
    if order.net_paid > 0:
        _err("state", _("Refund what was paid before cancelling."))
    before = order.state
    stock.release(_ref(order), reason=reason or _("Order cancelled"), staff=user)
    order.state, order.cancelled_at, order.closed_reason = "cancelled", utcnow(), (reason or "")[:200] or None
    db.session.flush()
    record("update", "order", order.id, order.number, before={"state": before}, after={"state": "cancelled"})
    emit(RecordEvent("order", order, "changed", {"state": [before, "cancelled"]}))
    return order


# --- money: payments, refunds, invoice, spend ---------------------------------------------------------------------

def _existing(request_key: str | None, order: Order, kind: str) -> Payment | None:
    if not request_key:
        return None
    found = db.session.scalar(select(Payment).where(Payment.request_key == request_key))
    if found is not None and (found.document_id != order.id or found.kind != kind):
        _err("request_key", _("This key was used for a different request."))
    return found


def record_payment(user, order: Order, data: dict, *, request_key: str | None = None) -> Payment:
    """Record money received on an order (PaymentSchema-loaded `data`): never above the balance due. The same
    `request_key` twice (a till's retry, a double tap) returns the first payment and records nothing."""
    return _add_payment(user, order, data, request_key=request_key)


def _add_payment(user, order: Order, data: dict, *, request_key: str | None = None, cap: bool = True) -> Payment:
    """record_payment's body; `cap` False lets a quote's deposits carried over exceed the order's balance."""
    order = _lock(order)
    again = _existing(request_key, order, "payment")
    if again is not None:
        return again
    if order.state not in ("draft", "confirmed", "fulfilled"):
        _err("state", _("Payments are recorded on open orders only."))
    amount = data["amount"]
    if cap and amount > order.balance_due:
        _err("amount", _("That is more than the balance due (%(due)s).", due=order.balance_due))
    payment = Payment(document_id=order.id, customer_id=order.customer_id, kind="payment", method=data["method"],
                      amount=amount, reference=data.get("reference"), note=data.get("note"),
                      staff_id=getattr(user, "id", None), request_key=request_key)
    db.session.add(payment)
    before = order.net_paid
    order.paid_total = order.paid_total + amount
    db.session.flush()
    _spend(order, before, order.net_paid, payment.received_at)
    record("create", "payment", payment.id, f"{order.number}: {amount}", after=snapshot(payment))
    emit(OrderPaid(record=order, changes={"paid_total": [str(order.paid_total - amount), str(order.paid_total)]},
                   payment=payment))
    _close_if_settled(order)
    return payment


def record_refund(user, order: Order, data: dict, *, request_key: str | None = None) -> Payment:
    """Give money back (RefundSchema-loaded `data`): never more than was paid and not yet refunded; `returns`
    brings stock back to `location_id` (default: the store's) against the order's lines."""
    order = _lock(order)
    again = _existing(request_key, order, "refund")
    if again is not None:
        return again
    amount = data["amount"]
    if amount > order.net_paid:
        _err("amount", _("You can refund at most what was paid (%(paid)s).", paid=order.net_paid))
    returned = []
    if data.get("returns"):
        location = _location(user, order, data.get("location_id"))
        for i, back in enumerate(data["returns"]):
            line = get_line(order, back["line_id"])
            if line is None or line.item_id is None:
                _err(f"returns.{i}.line_id", _("Choose a line of this order."))
            if back["quantity"] > line.fulfilled_quantity:
                _err(f"returns.{i}.quantity", _("More than was delivered on this line."))
            item = catalog.get_item(line.item_id)
            try:
                stock.return_to_stock(item, location, back["quantity"], serials=back.get("serials") or (),
                                      reference=_ref(order), reason=data.get("note"), staff=user)
            except ValidationError as err:
                messages = err.messages if isinstance(err.messages, dict) else {"quantity": err.messages}
                raise ValidationError({f"returns.{i}.{k}": v for k, v in messages.items()})
            line.fulfilled_quantity -= back["quantity"]
            returned.append({"line_id": line.id, "quantity": str(back["quantity"]),
                             "serials": list(back.get("serials") or [])})
    refund = Payment(document_id=order.id, customer_id=order.customer_id, kind="refund", method=data["method"],
                     amount=amount, reference=data.get("reference"), note=data.get("note"),
                     staff_id=getattr(user, "id", None), request_key=request_key, returned=returned)
    db.session.add(refund)
    before = order.net_paid
    order.refunded_total = order.refunded_total + amount
    db.session.flush()
    _spend(order, before, order.net_paid, refund.received_at)
    record("create", "refund", refund.id, f"{order.number}: -{amount}", after=snapshot(refund))
    emit(OrderRefunded(record=order, changes={"refunded_total": [str(order.refunded_total - amount),
                                                                 str(order.refunded_total)]}, payment=refund))
    return refund


def set_invoice(user, order: Order, data: dict) -> Order:
    """The 发票: its number and state (requested, issued, voided) as the finance desk records them."""
    if data["invoice_state"] == "issued" and not (data.get("invoice_number") or order.invoice_number):
        _err("invoice_number", _("Enter the invoice number."))
    before = {"invoice_number": order.invoice_number, "invoice_state": order.invoice_state}
    order.invoice_state = data["invoice_state"]
    if data.get("invoice_number"):
        order.invoice_number = data["invoice_number"]
    db.session.flush()
    record("update", "order", order.id, order.number, before=before,
           after={"invoice_number": order.invoice_number, "invoice_state": order.invoice_state})
    return order


def _spend(order: Order, net_before: Decimal, net_after: Decimal, at: datetime) -> None:
    """The customer's spend moves with the money, in this transaction, on the locked customer row: lifetime spend
    is net money received; an order counts once some of it is paid and stops counting when fully refunded."""
    customer = db.session.scalar(select(Customer).where(Customer.id == order.customer_id)
                                 .with_for_update(of=Customer).execution_options(populate_existing=True))
    old = {"lifetime_spend": customer.lifetime_spend, "order_count": customer.order_count}
    customer.lifetime_spend = customer.lifetime_spend + (net_after - net_before)
    if net_before <= 0 < net_after:
        customer.order_count += 1
    elif net_after <= 0 < net_before:
        customer.order_count -= 1
    if net_after > net_before:
        customer.first_purchase_at = customer.first_purchase_at or at
        customer.last_purchase_at = at
    db.session.flush()
    db.session.refresh(customer, ["average_order_value"])
    changes = {k: [str(v), str(getattr(customer, k))] for k, v in old.items() if getattr(customer, k) != v}
    if changes:
        emit(CustomerChanged(customer, changes))


def spend_of(customer: Customer) -> dict:
    """The figures shown on the customer page (and in the API): all maintained on the customer row."""
    return {"lifetime_spend": customer.lifetime_spend, "order_count": customer.order_count,
            "average_order_value": customer.average_order_value, "first_purchase_at": customer.first_purchase_at,
            "last_purchase_at": customer.last_purchase_at}
