"""What automation puts on a customer's timeline (through the core's `customer_timeline` hook): rule firings."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..hooks.contrib import TimelineEntry
from .models import Rule, RuleFiring


def timeline_entries(customer, before, limit) -> list[TimelineEntry]:
    """Up to `limit` firings of rules about the customer older than `before` (skipped ones left out)."""
    query = (select(RuleFiring, Rule.name)
             .join(Rule, (Rule.tenant_id == RuleFiring.tenant_id) & (Rule.id == RuleFiring.rule_id))
             .where(RuleFiring.customer_id == customer.id, RuleFiring.status != "skipped")
             .order_by(RuleFiring.fired_at.desc()).limit(limit))
    if before is not None:
        query = query.where(RuleFiring.fired_at < before)
    return [TimelineEntry(f.fired_at, "rule", name, "; ".join(
        f"{o['type']}: {o['detail']}" if o["ok"] else f"{o['type']} ✗ {o['detail']}" for o in f.outcome) or None,
        None, f.status) for f, name in db.session.execute(query)]
