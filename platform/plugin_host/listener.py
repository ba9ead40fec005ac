"""Plugins' subscriber to `storecrm.events`: every event reaches the plugins enabled for the tenant through the
generic `storecrm_event(event)` hook; the core events that have a typed hook (`customer_created`, `asset_changed` …)
also reach it, with the event's fields as arguments. Both come from here, so there is still one path."""
from __future__ import annotations

from dataclasses import fields

from sqlalchemy import select

from .. import events as ev
from ..customers.models import Customer
from ..extensions import db
from ..hooks.runtime import tenant_hook

# event type -> its typed hook; the hook's arguments are the event's fields, by name
TYPED_HOOKS = {
    ev.CustomerCreated: "customer_created",
    ev.CustomerChanged: "customer_changed",
    ev.CustomerMerged: "customer_merged",
    ev.CustomerUnmerged: "customer_unmerged",
    ev.AssetCreated: "asset_created",
    ev.AssetChanged: "asset_changed",
}


def listen(event: ev.Event) -> None:
    """Deliver `event` to the plugins enabled for the current tenant."""
    generic = tenant_hook("storecrm_event")
    if isinstance(event, ev.CustomersImported):
        _imported(event, generic)
        return
    _deliver(event, generic, _typed(type(event)))


def _typed(event_type):
    name = TYPED_HOOKS.get(event_type)
    return tenant_hook(name) if name else None


def _deliver(event, generic, typed) -> None:
    generic(event=event)
    if typed is not None:
        typed(**{f.name: getattr(event, f.name) for f in fields(event)})


def _imported(event: ev.CustomersImported, generic) -> None:
    """An import's customers reach plugins as one `CustomerCreated` each, like customers made one by one; they are
    loaded (in one query) only when an enabled plugin listens."""
    typed = _typed(ev.CustomerCreated)
    if not event.customer_ids or not (generic.get_hookimpls() or typed.get_hookimpls()):
        return
    for customer in db.session.scalars(select(Customer).where(Customer.id.in_(event.customer_ids))
                                       .order_by(Customer.id)):
        _deliver(ev.CustomerCreated(customer), generic, typed)
