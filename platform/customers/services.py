"""Customer records: store-scoped reads, masked contact details, audited writes."""
from __future__ import annotations

from decimal import Decimal

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select, union

from ..audit.services import changed_only, record, record_many, snapshot
from ..events import CustomerChanged, CustomerCreated, CustomersImported, emit
from ..calendar import tenant_today
from ..extensions import db
from ..fields.engine import custom_condition, defaults, validate_values
from ..keyset import page
from ..quotas import ensure_room, room as quota_room
from ..stores.models import Store
from ..tenancy.context import require_tenant_id
from ..tenancy.bulk import insert_rows
from ..tenancy.models import current_tenant_row, get_scoped, reserve_ids, utcnow
from ..tenancy.reads import read_session
from ..users.models import User
from ..validation import display_phone, mask_email, mask_phone
from ..web.i18n import tenant_zone
from . import identities
from .models import Customer, CustomerIdentity

PAGE_SIZE = 50


def visible(user, query):
    """Limit a customer query to what `user` may see: live records of their stores (all for HQ)."""
    query = query.where(Customer.deleted_at.is_(None))
    if not user.sees_all_stores:
        query = query.where(Customer.store_id.in_(user.store_ids or [-1]))
    return query


@dataclass(frozen=True)
class CustomerFilter:
    """What a list of customers is narrowed to (UI list, API, export, saved views)."""

    q: str = ""
    store_id: int | None = None
    tag: str | None = None
    status: str | None = None
    owner_id: int | None = None
    level: str | None = None
    custom: tuple = ()  # ((field code, value), …): exact match; for multi-select, contains the value
    min_spend: Decimal | None = None  # lifetime spend at least this (kept by storecrm.sales)

    def apply(self, query):
        for code, value in self.custom:
            query = query.where(custom_condition(Customer.custom, code, value))
        if self.store_id:
            query = query.where(Customer.store_id == self.store_id)
        if self.tag:
            query = query.where(Customer.tags.contains([self.tag]))  # @> can use a GIN index later
        if self.status:
            query = query.where(Customer.status == self.status)
        if self.owner_id:
            query = query.where(Customer.owner_id == self.owner_id)
        if self.level:
            query = query.where(Customer.level == self.level)
        if self.min_spend is not None:
            query = query.where(Customer.lifetime_spend >= self.min_spend)
        if self.q:
            query = query.where(_match(self.q))
        return query


# sort code -> (column, descending); ties are broken by id in the same direction
SORTS = {"newest": (Customer.id, True), "oldest": (Customer.id, False), "name": (Customer.name, False),
         "name_desc": (Customer.name, True), "birthday": (Customer.birthday, False),
         "spend": (Customer.lifetime_spend, True)}


def list_customers(user, flt: CustomerFilter = CustomerFilter(), *, after_id: int | None = None,
                   limit: int = PAGE_SIZE, sort: str = "newest") -> list[Customer]:
    """Sorted by `sort` (newest first by default), keyset-paged: `after_id` is the last row of the previous page,
    whose sort key is read back, so a page is one indexed range scan however deep it is."""
    column, descending = SORTS.get(sort, SORTS["newest"])
    query = page(flt.apply(visible(user, select(Customer))), Customer, column, descending, after_id)
    return list(db.session.scalars(query.limit(limit)))


def count_customers(user, flt: CustomerFilter = CustomerFilter()) -> int:
    """A heavy read (every matching row of the tenant is counted): on the read replica when there is one."""
    query = flt.apply(visible(user, select(func.count()).select_from(Customer)))
    with read_session() as reads:
        return reads.scalar(query)


def total_for_page(user, flt: CustomerFilter, rows: list, *, after_id: int | None, limit: int) -> int:
    """How many customers match, for a page of `list_customers`: a first page that is not full holds every match
    (a search by VIN or plate usually finds one or two), so nothing is counted; otherwise `count_customers`."""
    if after_id is None and len(rows) < limit:
        return len(rows)
    return count_customers(user, flt)


def _match(q: str):
    """Name, phone in any format, or any identity (plate, VIN, serial, member no, WeChat, email).

    A union of candidate ids, one indexed lookup per source (trigram GIN indexes led by tenant_id), rather
    than one OR over the table: an OR with a subquery makes PostgreSQL walk every row of the tenant."""
    digits = re.sub(r"\D", "", q)
    sources = [select(Customer.id).where(Customer.name.ilike(f"%{_escape(q)}%"))]
    if len(digits) >= 4:
        sources.append(select(Customer.id).where(Customer.mobile.like(f"%{digits}%")))
    compact = re.sub(r"[\s·.\-]", "", q)
    if len(compact) >= 3:
        sources.append(select(CustomerIdentity.customer_id).where(
            CustomerIdentity.value.ilike(f"%{_escape(compact)}%")))
    return Customer.id.in_(union(*sources) if len(sources) > 1 else sources[0])


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_customers(user, q: str, limit: int = 20) -> list[Customer]:
    """Customers `user` may see whose name, phone, plate, VIN or other identity matches `q` (partial), best first."""
    return list_customers(user, CustomerFilter(q=q), limit=limit)


def get_customer(user, customer_id) -> Customer | None:
    """The live customer `customer_id` if `user` may see it (their stores), else None — other tenants' ids included."""
    customer = get_scoped(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        return None
    if not user.sees_all_stores and customer.store_id not in user.store_ids:
        return None
    return customer


def contact_view(user, customer: Customer) -> dict:
    """Phone and email as this user may see them (masked without customers.contact)."""
    if user.has_permission("customers.contact"):
        return {"mobile": display_phone(customer.mobile), "email": customer.email or "", "masked": False}
    return {"mobile": mask_phone(customer.mobile), "email": mask_email(customer.email), "masked": True}


class DuplicateCustomer(ValidationError):
    """The new record's identities belong to existing customers (One-ID): `customer_ids` says whose."""

    def __init__(self, messages, customer_ids):
        super().__init__(messages)
        self.customer_ids = customer_ids


def _apply_consents(customer: Customer, data: dict) -> None:
    """Turn the consent_* inputs into the consents record, stamping time and source on change."""
    source = data.pop("consent_source", None)
    consents = dict(customer.consents or {})
    for channel in ("sms", "wechat"):
        granted = data.pop(f"consent_{channel}", None)
        if granted is None:
            continue
        current = (consents.get(channel) or {}).get("granted", False)
        if granted != current:  # an unticked box on a customer never asked is no decision: nothing to record
            consents[channel] = {"granted": granted, "at": utcnow().isoformat(), "source": source or "staff"}
    customer.consents = consents


def _check(user, data: dict) -> None:
    errors = {}
    if data.get("owner_id"):
        owner = get_scoped(User, data["owner_id"])
        if owner is None or not owner.active:
            errors["owner_id"] = [_("Choose an active staff member.")]
    store = get_scoped(Store, data.get("store_id"))
    # user None: a customer's own request through a public page (scheduling's booking page), for any live store
    if store is None or not (user is None or user.sees_all_stores or store.id in user.store_ids):
        errors["store_id"] = [_("Choose one of your stores.")]
    if data.get("birthday") and data["birthday"] > tenant_today():  # the tenant's today, not the server's
        errors["birthday"] = [_("A birthday cannot be in the future.")]
    if errors:
        raise ValidationError(errors)


def _claims(data: dict) -> list[tuple[str, str]]:
    return [(kind, data[kind]) for kind in ("mobile", "email") if data.get(kind)]


def _duplicate_error(matches: dict) -> DuplicateCustomer:
    errors = {}
    for (kind, _value), owner_id in matches.items():
        owner = get_scoped(Customer, owner_id)
        errors.setdefault(kind, []).append(_("Customer %(name)s (#%(id)d) already has this %(what)s.",
                                             name=owner.name, id=owner.id,
                                             what=_("mobile number") if kind == "mobile" else _("email")))
    return DuplicateCustomer(errors, sorted(set(matches.values())))


def duplicate_policy() -> str:
    return (current_tenant_row().settings or {}).get("duplicate_policy", "propose")


def create_customer(user, data: dict) -> Customer:
    """Create, unless the identities already belong to a customer (One-ID).

    Then, by the tenant's policy, either refuse and point at the existing record ("propose"),
    or fold the new details into it and return it ("merge"; empty fields are filled, nothing
    is overwritten).
    """
    _check(user, data)
    matches = identities.owners(_claims(data))
    if not matches:
        ensure_room("customers")
    if matches:
        owners_found = set(matches.values())
        if duplicate_policy() != "merge" or len(owners_found) > 1:
            raise _duplicate_error(matches)
        existing = get_customer(user, owners_found.pop())
        if existing is None:  # belongs to a store this user cannot see: still one person
            raise _duplicate_error(matches)
        return _fold_into(existing, data)

    custom = validate_values("customer", {**defaults("customer"), **(data.get("custom") or {})}, user=user)
    fields_only = {k: v for k, v in data.items() if not k.startswith("consent_") and k != "custom"}
    customer = Customer(**fields_only, custom=custom)
    if not customer.owner_id and user is not None:
        customer.owner_id = user.id
    _apply_consents(customer, data)
    db.session.add(customer)
    db.session.flush()
    for kind, value in _claims(data):
        identities.add(customer, kind, value, primary=True)
    record("create", "customer", customer.id, customer.name, after=snapshot(customer))
    emit(CustomerCreated(customer))
    return customer


def create_many(user, rows: list[tuple[dict, dict[str, str]]]) -> dict[int, dict]:
    """Create customers whose identities the caller found unclaimed (an import checks a whole batch in one
    query): one INSERT per table for all of them instead of a dozen statements each.

    rows: (customer data, further identities {kind: normal form}). Each row is checked as `create_customer`
    checks it; returns {row index: errors} for the rows that were refused; the others are created, audited
    and announced as one `CustomersImported` event (rules fire and webhooks go out per customer, plugins hear one
    `CustomerCreated` each, with no query per row). A unique violation (someone created one of these people
    meanwhile) raises IntegrityError: run the batch in a savepoint and fall back to one by one."""
    from types import SimpleNamespace

    stores_held = list(db.session.scalars(select(Store)))  # noqa: F841 — keeps _check's lookups in the identity map
    errors, made = {}, []
    filled = defaults("customer")
    columns = [c.key for c in Customer.__table__.columns if c.computed is None]  # the database fills generated ones
    room = quota_room("customers")
    tenant_id, now = require_tenant_id(), utcnow()
    for index, (data, extra) in enumerate(rows):
        try:
            _check(user, data)
            custom = validate_values("customer", {**filled, **(data.get("custom") or {})}, user=user)
        except ValidationError as err:
            errors[index] = err.messages
            continue
        if room is not None and len(made) >= room:  # the plan's limit: these rows are reported, not created
            try:
                ensure_room("customers", len(made) + 1)
            except ValidationError as err:
                errors[index] = err.messages
                continue
        data = dict(data)
        consents = SimpleNamespace(consents={})
        _apply_consents(consents, data)  # takes the consent_* inputs out of data
        row = {key: data.get(key) for key in columns}
        row.update(tenant_id=tenant_id, custom=custom, created_at=now, updated_at=now, kind=data.get("kind") or "person",
                   status=data.get("status") or "active", tags=data.get("tags") or [], consents=consents.consents,
                   owner_id=data.get("owner_id") or (user.id if user is not None else None),
                   lifetime_spend=0, order_count=0)  # spend starts at nothing; storecrm.sales moves it
        made.append((row, _claims(data) + list(extra.items())))
    if not made:
        return errors
    for (row, _claims_), new_id in zip(made, reserve_ids(Customer, len(made))):
        row["id"] = new_id
    insert_rows(Customer.__table__, [row for row, _claims_ in made])
    pending = [(row, kind, value, kind in ("mobile", "email")) for row, claims in made for kind, value in claims]
    identity_ids = reserve_ids(CustomerIdentity, len(pending))
    insert_rows(CustomerIdentity.__table__, [
        {"tenant_id": tenant_id, "id": identity_id, "customer_id": row["id"], "asset_id": None, "kind": kind,
         "value": value, "primary": primary, "created_at": now}
        for (row, kind, value, primary), identity_id in zip(pending, identity_ids)])
    # one entry per customer, its identities inside (staff adding an identity by hand get an entry of its own); the
    # values go as they are: record_many's one JSON document writes dates and amounts as _jsonable would
    record_many([("create", "customer", row["id"], row["name"], None,
                  {**{k: v for k, v in row.items() if k != "tenant_id"},
                   "identities": [{"kind": kind, "value": value} for kind, value in claims]})
                 for row, claims in made])
    emit(CustomersImported(tuple(row["id"] for row, _claims_ in made)))
    return errors


def _fold_into(existing: Customer, data: dict) -> Customer:
    before = snapshot(existing)
    for key, value in data.items():
        if key.startswith("consent_"):
            continue
        if key == "custom":
            if value:
                fill = {k: v for k, v in value.items() if (existing.custom or {}).get(k) in (None, "", [])}
                existing.custom = {**(existing.custom or {}),
                                   **validate_values("customer", fill, current={}, partial=True)}
            continue
        if key == "tags":
            existing.tags = list(dict.fromkeys((existing.tags or []) + value))
        elif value not in (None, "", []) and getattr(existing, key) in (None, ""):
            setattr(existing, key, value)
    for kind, value in _claims(data):
        identities.add(existing, kind, value)
    db.session.flush()
    old, new = changed_only(before, snapshot(existing))
    record("match", "customer", existing.id, existing.name, before=old or None, after=new or None)
    if new:
        emit(CustomerChanged(existing, {k: [old.get(k), new[k]] for k in new}))
    existing.matched_existing = True
    return existing


def update_customer(user, customer: Customer, data: dict) -> Customer:
    """Change a customer with `data` (validated fields, `custom` values); audited; emits the change to rules, webhooks and plugins."""
    _check(user, data)
    claims = [(k, v) for k, v in _claims(data) if getattr(customer, k) != v]
    taken = {pair: owner for pair, owner in identities.owners(claims).items() if owner != customer.id}
    if taken:
        raise _duplicate_error(taken)

    custom = data.pop("custom", None)
    if custom is not None:
        custom = validate_values("customer", custom, user=user, current=customer.custom)
    before = snapshot(customer)
    previous = {kind: getattr(customer, kind) for kind in ("mobile", "email")}
    _apply_consents(customer, data)
    for key, value in data.items():
        setattr(customer, key, value)
    if custom is not None:
        customer.custom = custom
    db.session.flush()
    for kind in ("mobile", "email"):
        identities.sync_primary(customer, kind, data.get(kind), previous[kind])
    old, new = changed_only(before, snapshot(customer))
    if new:
        record("update", "customer", customer.id, customer.name, before=old, after=new)
        emit(CustomerChanged(customer, {k: [old.get(k), new[k]] for k in new}))
    return customer


def count_new_this_month(user) -> int:
    from datetime import datetime

    tz = tenant_zone()
    month_start = datetime.now(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return db.session.scalar(
        visible(user, select(func.count()).select_from(Customer)).where(Customer.created_at >= month_start))
