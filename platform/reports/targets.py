"""Monthly KPI targets per tenant, store and person, with the achievement (actual ÷ target), the month to date
against the same days of last month (period-to-date) and against the same month a year before (year-over-year).

The actual value is the KPI's own statement (storecrm.reports.engine) over the month with the target's store and
person as the KPI's filters and the viewer's stores inside the SQL, so a target row, the KPI card and its drill-down
agree. A target for a person needs a KPI with the staff filter; for a store, one with the store filter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record as record_audit
from ..extensions import db
from ..stores.models import Store
from ..tenancy.models import get_scoped
from ..users.models import User
from . import engine
from .models import KpiTarget
from .periods import Period, period_of, report_today


def month_of(text) -> date | None:
    """"2026-11" (or a date in it) → 2026-11-01; None when it is not a month."""
    try:
        return date.fromisoformat(f"{str(text).strip()[:7]}-01")
    except ValueError:
        return None


def set_target(user, data: dict) -> KpiTarget:
    """Create or replace the target of (KPI, month, store, person); field errors in the user's language."""
    errors: dict[str, list] = {}
    kpi = engine.get_kpi(user, str(data.get("kpi_code") or ""))
    if kpi is None or kpi.records is None:
        errors["kpi_code"] = [_("Choose one of the listed options.")]
    month = month_of(data.get("month") or "")
    if month is None:
        errors["month"] = [_("Enter a month as YYYY-MM.")]
    store_id = _int(data.get("store_id"))
    if store_id is not None and (get_scoped(Store, store_id) is None or not (
            user.sees_all_stores or store_id in (user.store_ids or []))):
        errors["store_id"] = [_("Choose one of the listed options.")]
    elif store_id is not None and kpi is not None and "store" not in kpi.filters:
        errors["store_id"] = [_("This KPI cannot be split by store.")]
    user_id = _int(data.get("user_id"))
    if user_id is not None and get_scoped(User, user_id) is None:
        errors["user_id"] = [_("Choose one of the listed options.")]
    elif user_id is not None and kpi is not None and "staff" not in kpi.filters:
        errors["user_id"] = [_("This KPI cannot be split by person.")]
    try:
        value = Decimal(str(data.get("value") or "").strip())
        if not value.is_finite() or value <= 0 or value >= 10**12:
            raise InvalidOperation
    except InvalidOperation:
        errors["value"] = [_("Enter a number above zero.")]
    if errors:
        raise ValidationError(errors)
    target = db.session.scalar(select(KpiTarget).where(
        KpiTarget.kpi_code == kpi.code, KpiTarget.month == month,
        KpiTarget.store_id.is_(None) if store_id is None else KpiTarget.store_id == store_id,
        KpiTarget.user_id.is_(None) if user_id is None else KpiTarget.user_id == user_id))
    if target is None:
        target = KpiTarget(kpi_code=kpi.code, month=month, store_id=store_id, user_id=user_id)
        db.session.add(target)
    target.value = value
    db.session.flush()
    record_audit("update", "kpi_target", target.id, f"{kpi.code} {month:%Y-%m}")
    return target


def _int(raw) -> int | None:
    text = str(raw).strip() if raw not in (None, "") else ""
    return int(text) if text.isdigit() else None


def get_target(user, target_id) -> KpiTarget | None:
    target = get_scoped(KpiTarget, target_id)
    if target is None or not _visible(user, target):
        return None
    return target


def delete_target(target: KpiTarget) -> None:
    record_audit("delete", "kpi_target", target.id, f"{target.kpi_code} {target.month:%Y-%m}")
    db.session.delete(target)
    db.session.flush()


def _visible(user, target) -> bool:
    return target.store_id is None or user.sees_all_stores or target.store_id in (user.store_ids or [])


@dataclass
class TargetRow:
    target: KpiTarget
    kpi: Any
    actual: Any
    achievement: Decimal | None  # percent of the target reached
    to_date: Any  # the month so far …
    to_date_before: Any  # … and the same days of the month before
    year_before: Any  # the same month a year earlier

    @property
    def year_change(self):
        if self.actual is None or self.year_before in (None, 0):
            return None
        return (Decimal(self.actual) - Decimal(self.year_before)) * 100 / Decimal(self.year_before)


def _value(user, kpi, period: Period, target: KpiTarget):
    try:
        scope = engine.scope_for(user, period, store_id=target.store_id, staff_id=target.user_id)
    except ValueError:
        return None
    return engine.evaluate([kpi], scope, compare=False)[kpi.code].value


def rows_for(user, month: date) -> list[TargetRow]:
    """The month's targets the user may see, each with actual, achievement, period-to-date and year-over-year."""
    kpis = {k.code: k for k in engine.kpis_for(user, engine_only=True)}
    period = period_of("month", month)
    today = report_today()
    to_date = Period("custom", period.first, min(today, period.last)) if period.first <= today else None
    if to_date is not None:
        days = (to_date.last - to_date.first).days
        before_first = period.previous().first
        before = Period("custom", before_first, min(before_first + timedelta(days=days), period.previous().last))
    last_year = period_of("month", month.replace(year=month.year - 1))
    out = []
    for target in db.session.scalars(select(KpiTarget).where(KpiTarget.month == month)
                                     .order_by(KpiTarget.kpi_code, KpiTarget.store_id, KpiTarget.user_id)):
        kpi = kpis.get(target.kpi_code)
        if kpi is None or not _visible(user, target):
            continue
        actual = _value(user, kpi, period, target)
        achievement = None
        if actual is not None and target.value:
            achievement = (Decimal(actual) * 100 / target.value).quantize(Decimal("0.1"))
        out.append(TargetRow(target, kpi, actual, achievement,
                             _value(user, kpi, to_date, target) if to_date else None,
                             _value(user, kpi, before, target) if to_date else None,
                             _value(user, kpi, last_year, target)))
    return out
