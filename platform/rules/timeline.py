"""What automation puts on a customer's timeline (a `TimelineSource` the core unions): rule firings."""
from __future__ import annotations

from sqlalchemy import func, select

from ..hooks.contrib import TimelineEntry, TimelineSource
from .models import Rule, RuleFiring


def _firings(customer_id):
    """Firings of rules about the customer (skipped ones left out)."""
    return (select(RuleFiring.fired_at.label("at"), func.jsonb_build_object(
        "rule", Rule.name, "status", RuleFiring.status, "outcome", RuleFiring.outcome).label("data"))
        .join(Rule, (Rule.tenant_id == RuleFiring.tenant_id) & (Rule.id == RuleFiring.rule_id))
        .where(RuleFiring.customer_id == customer_id, RuleFiring.status != "skipped"))


def _firing(at, data) -> TimelineEntry:
    body = "; ".join(f"{o['type']}: {o['detail']}" if o["ok"] else f"{o['type']} ✗ {o['detail']}"
                     for o in data["outcome"] or [])
    return TimelineEntry(at, "rule", data["rule"], body or None, None, data["status"])


SOURCES = [TimelineSource("rules.firings", "rule", _firings, _firing)]
