"""The current tenant's clock and money: its time zone, "now" and "today" in that zone, its currency.

Read from the tenant's row (one primary-key lookup the session caches), so jobs and timers without a request get
the same answers as pages do. Times are stored in UTC everywhere; these helpers are for deciding which *day* or
*hour* something falls on for the chain, and for showing amounts.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from .tenancy.models import current_tenant_row

DEFAULT_ZONE = "Asia/Shanghai"


def _tenant():
    return current_tenant_row()


def tenant_zone() -> ZoneInfo:
    """The current tenant's time zone (default Asia/Shanghai)."""
    return ZoneInfo(_tenant().timezone or DEFAULT_ZONE)


def tenant_now() -> datetime:
    """The current time as an aware datetime in the tenant's zone."""
    return datetime.now(tenant_zone())


def tenant_today() -> date:
    """Today's date in the tenant's calendar (in Shanghai, 00:30 on the 2nd is already the 2nd)."""
    return tenant_now().date()


def tenant_currency() -> str:
    """The tenant's ISO 4217 currency code (default CNY)."""
    return _tenant().currency or "CNY"


def money(value) -> Decimal:
    """An amount as a Decimal with two places, rounded half up (the way a till rounds); never a float."""
    if isinstance(value, float):
        value = repr(value)  # 0.1 as typed, not 0.1000000000000000055…
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
