"""RFM segments (recency, frequency, monetary) over a purchase source.

The source is a SELECT of `(customer_id, last_purchase_at, order_count, spend)`, one row per customer who bought,
spend NUMERIC in the tenant's currency. By default it is the customer's own spend columns, which storecrm.sales
maintains in the transaction of every payment and refund (`last_purchase_at`, `order_count` = orders with money on
them, `lifetime_spend` = net paid): so RFM works as soon as orders are paid, with no batch job, and reads one
indexed table. `provide(source)` replaces it (a tenant importing its history from another system; tests);
`provide(None)` switches RFM off.

The columns are today's figures: a past period's segments use today's frequency and spend with the recency counted
at that period's end (a customer who bought after it is left out).

Segments, with the tenant's thresholds (`tenant.settings["rfm"]`, defaults below), recency counted at the end of the
period (or now):

- high value: bought within `recent_days`, at least `frequent` orders and `big_spend` in total;
- potential: bought within `recent_days`, not (yet) high value;
- at risk: last bought `recent_days`–`lapsed_days` ago, and was frequent or big-spending;
- need win-back: last bought `recent_days`–`lost_days` ago, the others;
- lost: nothing for more than `lost_days`.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, literal, or_, select

from ..customers.models import Customer
from ..hooks.contrib import Kpi
from ..stores.models import Store
from .periods import report_settings

SEGMENTS = {"high_value": _l("High value"), "potential": _l("Potential"), "at_risk": _l("At risk"),
            "win_back": _l("Need win-back"), "lost": _l("Lost")}
DEFAULTS = {"recent_days": 90, "lapsed_days": 180, "lost_days": 365, "frequent": 3, "big_spend": "5000"}

def customer_spend():
    """The default source: customers whose spend columns show at least one order with money on it."""
    return (select(Customer.id.label("customer_id"), Customer.last_purchase_at.label("last_purchase_at"),
                   Customer.order_count.label("order_count"), Customer.lifetime_spend.label("spend"))
            .where(Customer.order_count > 0, Customer.last_purchase_at.is_not(None)))


_source: Callable | None = customer_spend


def provide(source: Callable | None) -> None:
    """Replace the RFM engine's purchase source (default: `customer_spend`); None switches RFM off."""
    global _source
    _source = source


def available() -> bool:
    return _source is not None


def thresholds() -> dict:
    """The tenant's thresholds, defaults filled in (its settings read once per request with its zone)."""
    own = report_settings().get("rfm") or {}
    merged = {**DEFAULTS, **{k: v for k, v in own.items() if k in DEFAULTS}}
    return {**{k: int(merged[k]) for k in ("recent_days", "lapsed_days", "lost_days", "frequent")},
            "big_spend": Decimal(str(merged["big_spend"]))}


def segment_of(last, count, spend, as_of, t: dict):
    """The SQL CASE giving each purchase row its segment code."""
    recent = last >= literal(as_of - timedelta(days=t["recent_days"]))
    lapsed = last >= literal(as_of - timedelta(days=t["lapsed_days"]))
    alive = last >= literal(as_of - timedelta(days=t["lost_days"]))
    valuable = or_(count >= t["frequent"], spend >= t["big_spend"])
    return case(
        (and_(recent, count >= t["frequent"], spend >= t["big_spend"]), "high_value"),
        (recent, "potential"),
        (and_(lapsed, valuable), "at_risk"),
        (alive, "win_back"),
        else_="lost")


def segmented(scope, source: Callable | None = None):
    """The records of the RFM KPI: every customer the viewer sees who bought before the period's end, with their
    recency, frequency, monetary value and segment."""
    purchases = (source or _source)().subquery("purchases")
    as_of = scope.as_of
    segment = segment_of(purchases.c.last_purchase_at, purchases.c.order_count, purchases.c.spend, as_of,
                         thresholds())
    query = (select(Customer.id.label("id"), Customer.name.label("name"), Customer.store_id.label("store_id"),
                    Store.name.label("store_id_name"), purchases.c.last_purchase_at.label("last_purchase_at"),
                    purchases.c.order_count.label("order_count"), purchases.c.spend.label("spend"),
                    segment.label("segment"),
                    case({code: str(label) for code, label in SEGMENTS.items()}, value=segment).label("segment_name"))
             .join(purchases, purchases.c.customer_id == Customer.id)
             .join(Store, and_(Store.tenant_id == Customer.tenant_id, Store.id == Customer.store_id))
             .where(Customer.deleted_at.is_(None), scope.stores(Customer.store_id),
                    purchases.c.last_purchase_at < as_of))
    if scope.staff_id is not None:
        query = query.where(Customer.owner_id == scope.staff_id)
    return query


def kpi(source: Callable | None = None) -> Kpi:
    return Kpi("customers.rfm", _l("RFM segments"),
               _l("Customers who bought, by segment: high value, potential, at risk, need win-back, lost (recency, "
                  "frequency and spend against the tenant's thresholds, at the end of the period)."),
               permission="customers.view", records=lambda scope: segmented(scope, source),
               filters=("store", "staff"), time_column=None, group_by={"segment": _l("Segment"),
                                                                       "store_id": _l("Store")},
               columns={"id": _l("ID"), "name": _l("Name"), "store_id": _l("Store"), "segment": _l("Segment"),
                        "last_purchase_at": _l("Last purchase"), "order_count": _l("Orders"),
                        "spend": _l("Spend")},
               roles=("owner", "admin", "manager"), link=lambda r: f"/customers/{r['id']}")


def kpis() -> list[Kpi]:
    """The RFM KPI when a purchase source exists; nothing otherwise."""
    return [kpi()] if available() else []
