"""Customer records: store-scoped reads, masked contact details, audited writes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import and_, func, or_, select

from ..audit.services import changed_only, record, snapshot
from ..extensions import db
from ..plugin_host.runtime import tenant_hook
from ..stores.models import Store
from ..tenancy.models import get_scoped
from ..validation import display_phone, mask_email, mask_phone
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

    def apply(self, query):
        for code, value in self.custom:
            query = query.where(Customer.custom.contains({code: value}) | Customer.custom.contains({code: [value]}))
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
        if self.q:
            query = query.where(_match(self.q))
        return query


# sort code -> (column, descending); ties are broken by id in the same direction
SORTS = {"newest": (Customer.id, True), "oldest": (Customer.id, False), "name": (Customer.name, False),
         "name_desc": (Customer.name, True), "birthday": (Customer.birthday, False)}


def list_customers(user, flt: CustomerFilter = CustomerFilter(), *, after_id: int | None = None,
                   limit: int = PAGE_SIZE, sort: str = "newest") -> list[Customer]:
    """Sorted by `sort` (newest first by default), keyset-paged: `after_id` is the last row of the previous page,
    whose sort key is read back, so a page is one indexed range scan however deep it is."""
    column, descending = SORTS.get(sort, SORTS["newest"])
    query = flt.apply(visible(user, select(Customer)))
    if after_id:
        if column is Customer.id:
            query = query.where(Customer.id < after_id if descending else Customer.id > after_id)
        else:
            last = db.session.execute(select(column).where(Customer.id == after_id)).first()
            if last is not None:
                query = query.where(_after(column, last[0], after_id, descending))
    if column is Customer.id:
        order = [Customer.id.desc() if descending else Customer.id.asc()]
    else:
        order = [column.desc().nulls_last() if descending else column.asc().nulls_last(),
                 Customer.id.desc() if descending else Customer.id.asc()]
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def _after(column, value, last_id: int, descending: bool):
    """Rows after (value, last_id) in (column, id) order with NULLs last."""
    if value is None:  # already among the NULLs: only later ids
        return and_(column.is_(None), Customer.id < last_id if descending else Customer.id > last_id)
    if descending:
        return or_(column < value, and_(column == value, Customer.id < last_id), column.is_(None))
    return or_(column > value, and_(column == value, Customer.id > last_id), column.is_(None))


def count_customers(user, flt: CustomerFilter = CustomerFilter()) -> int:
    return db.session.scalar(flt.apply(visible(user, select(func.count()).select_from(Customer))))


def _match(q: str):
    """Name, phone in any format, or any identity (plate, VIN, serial, member no, WeChat, email)."""
    digits = re.sub(r"\D", "", q)
    conditions = [Customer.name.ilike(f"%{_escape(q)}%")]
    if len(digits) >= 4:
        conditions.append(Customer.mobile.like(f"%{digits}%"))
    compact = re.sub(r"[\s·.\-]", "", q)
    if len(compact) >= 3:
        conditions.append(Customer.id.in_(select(CustomerIdentity.customer_id).where(
            CustomerIdentity.value.ilike(f"%{_escape(compact)}%"))))
    return or_(*conditions)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_customers(user, q: str, limit: int = 20) -> list[Customer]:
    return list_customers(user, CustomerFilter(q=q), limit=limit)


def get_customer(user, customer_id) -> Customer | None:
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
    from ..tenancy.models import utcnow

    source = data.pop("consent_source", None)
    consents = dict(customer.consents or {})
    for channel in ("sms", "wechat"):
        granted = data.pop(f"consent_{channel}", None)
        if granted is None:
            continue
        current = (consents.get(channel) or {}).get("granted", False)
        if granted != current or channel not in consents:
            consents[channel] = {"granted": granted, "at": utcnow().isoformat(), "source": source or "staff"}
    customer.consents = consents


def _check(user, data: dict) -> None:
    errors = {}
    if data.get("owner_id"):
        from ..users.models import User

        owner = get_scoped(User, data["owner_id"])
        if owner is None or not owner.active:
            errors["owner_id"] = [_("Choose an active staff member.")]
    store = get_scoped(Store, data.get("store_id"))
    if store is None or not (user.sees_all_stores or store.id in user.store_ids):
        errors["store_id"] = [_("Choose one of your stores.")]
    if data.get("birthday") and data["birthday"] > date.today():
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
    from ..tenancy.services import current_tenant_row

    return (current_tenant_row().settings or {}).get("duplicate_policy", "propose")


def create_customer(user, data: dict) -> Customer:
    """Create, unless the identities already belong to a customer (One-ID).

    Then, by the tenant's policy, either refuse and point at the existing record ("propose"),
    or fold the new details into it and return it ("merge"; empty fields are filled, nothing
    is overwritten).
    """
    _check(user, data)
    matches = identities.owners(_claims(data))
    if matches:
        owners_found = set(matches.values())
        if duplicate_policy() != "merge" or len(owners_found) > 1:
            raise _duplicate_error(matches)
        existing = get_customer(user, owners_found.pop())
        if existing is None:  # belongs to a store this user cannot see: still one person
            raise _duplicate_error(matches)
        return _fold_into(existing, data)
    from ..fields.engine import defaults, validate_values

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
    tenant_hook("customer_created")(customer=customer)
    return customer


def _fold_into(existing: Customer, data: dict) -> Customer:
    before = snapshot(existing)
    for key, value in data.items():
        if key.startswith("consent_"):
            continue
        if key == "custom":
            if value:
                from ..fields.engine import validate_values

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
        tenant_hook("customer_changed")(customer=existing, changes={k: [old.get(k), new[k]] for k in new})
    existing.matched_existing = True
    return existing


def update_customer(user, customer: Customer, data: dict) -> Customer:
    _check(user, data)
    claims = [(k, v) for k, v in _claims(data) if getattr(customer, k) != v]
    taken = {pair: owner for pair, owner in identities.owners(claims).items() if owner != customer.id}
    if taken:
        raise _duplicate_error(taken)
    from ..fields.engine import validate_values

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
        tenant_hook("customer_changed")(customer=customer, changes={k: [old.get(k), new[k]] for k in new})
    return customer


def count_new_this_month(user) -> int:
    from datetime import datetime

    from ..web.i18n import tenant_zone

    tz = tenant_zone()
    month_start = datetime.now(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return db.session.scalar(
        visible(user, select(func.count()).select_from(Customer)).where(Customer.created_at >= month_start))
