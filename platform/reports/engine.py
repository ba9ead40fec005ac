"""The KPI engine: one query definition per KPI, aggregated, compared, grouped and listed in SQL.

A KPI (`storecrm.sdk.Kpi`) gives `records(scope)`: ONE SELECT of the records it counts, one row per record, already
limited to the viewer's stores, the period and the filters. Everything else is derived from that statement:

- the value: `SELECT <measure> FROM (records) r` — count, rate, average, sum or NPS, computed by PostgreSQL;
- the comparison: the same over `period.previous()`;
- charts: `GROUP BY` a column of the rows, or the day/week/month of their `at` column in the tenant's zone;
- the drill-down and the CSV/XLSX export: `SELECT * FROM (records) r ORDER BY id` paged.

So the number on a card and the list behind it cannot disagree: they are the same SQL. No row is loaded into Python
to compute a value. The values of many KPIs (both periods) go to the database as one statement, so a page of cards
costs one round trip; a plugin's KPI runs alone in a savepoint, so its bug costs its card only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from types import SimpleNamespace

from sqlalchemy import (BigInteger, DateTime, Float, Numeric, String, and_, any_, bindparam, case, cast, func, select,
                        true)
from sqlalchemy.dialects.postgresql import ARRAY, array

from ..extensions import db
from ..hooks.manager import CORE
from ..hooks.runtime import enabled_plugins, host
from ..tenancy.context import current_tenant_id
from ..tenancy.models import utcnow
from ..tenancy.scoping import Precompiled
from .periods import Period, report_zone

log = logging.getLogger("storecrm.reports")

FILTERS = ("store", "staff", "channel")


@dataclass(frozen=True)
class KpiScope:
    """What a KPI's `records(scope)` must limit its rows to: the viewer's stores (`stores(column)`), the period
    (`start` <= time < `end`, UTC; `as_of` for snapshots: the end, or now if the period is still running) and the
    filters the KPI declares (`store_id`, `staff_id`, `channel`: None when not filtered). `details`: False when only
    the value is computed (not the drill-down, a chart or a breakdown), so `records` may leave out joins that only
    add labels (a store's name), as long as the rows counted stay the same."""

    user: Any
    period: Period
    start: datetime
    end: datetime
    store_id: int | None = None
    staff_id: int | None = None
    channel: str | None = None
    details: bool = True

    @property
    def as_of(self) -> datetime:
        return min(self.end, utcnow())

    def viewer_stores(self, column):
        """A condition on a store id column: the viewer's stores (true for HQ roles that see all), not the filter."""
        return true() if self.user.sees_all_stores else column.in_(self.user.store_ids or [-1])

    def stores(self, column):
        """A condition on a store id column: the viewer's stores (all for HQ roles) and the store filter."""
        clauses = []
        if not self.user.sees_all_stores:
            clauses.append(column.in_(self.user.store_ids or [-1]))
        if self.store_id is not None:
            clauses.append(column == self.store_id)
        return and_(*clauses) if clauses else true()

    def previous(self) -> "KpiScope":
        before = self.period.previous()
        start, end = before.bounds()
        return replace(self, period=before, start=start, end=end)

    def year_before(self) -> "KpiScope":
        """The same dates a year earlier (year-over-year); 29 February becomes the 28th."""
        def back(day: date) -> date:
            try:
                return day.replace(year=day.year - 1)
            except ValueError:
                return day.replace(year=day.year - 1, day=28)

        if self.period.kind == "month":
            earlier = Period("month", back(self.period.first), (back(self.period.first.replace(day=1)) +
                                                                 timedelta(days=32)).replace(day=1) - timedelta(days=1))
        else:
            earlier = Period(self.period.kind, back(self.period.first), back(self.period.last))
        start, end = earlier.bounds()
        return replace(self, period=earlier, start=start, end=end)


@dataclass(frozen=True)
class KpiResult:
    """A KPI's value over a period (`n`: how many records it counted), and the same for the period before."""

    kpi: Any
    value: Any
    n: int
    previous: Any = None
    previous_n: int = 0
    failed: bool = False

    @property
    def delta(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def better(self) -> bool | None:
        """Whether the change since the previous period is good news (None: no change or nothing to compare)."""
        if not self.delta:
            return None
        return (self.delta > 0) == self.kpi.higher_is_better


def scope_for(user, period: Period, *, store_id=None, staff_id=None, channel=None) -> KpiScope:
    """A scope for `user`; ValueError when the store filter names a store the user may not see."""
    if store_id is not None and not user.sees_all_stores and store_id not in (user.store_ids or []):
        raise ValueError("store")
    start, end = period.bounds()
    return KpiScope(user, period, start, end, store_id, staff_id, channel or None)


# --- the registry -------------------------------------------------------------------------------------------------


def registered() -> list[tuple[str, Any]]:
    """(owner, Kpi) of every KPI of the core and the plugins enabled for the current tenant."""
    registry = host()
    return [(registry.owner_of("register_kpis", k), k) for k in registry.items("register_kpis", enabled_plugins())]


def kpis_for(user, *, engine_only: bool = False) -> list:
    """The KPIs `user` may see (permission), in registration order; `engine_only`: those with a query definition."""
    return [k for _owner, k in registered()
            if (k.permission is None or user.has_permission(k.permission)) and (k.records or not engine_only)]


def get_kpi(user, code: str):
    """The KPI `code` if `user` may see it and it has a query definition, else None."""
    return next((k for k in kpis_for(user, engine_only=True) if k.code == code), None)


def _trusted(kpi) -> bool:
    """Registered by the core or a system plugin (a KPI built on the fly, unregistered, runs guarded too)."""
    owner = next((o for o, k in host().contributions.get("register_kpis", []) if k is kpi), None)
    return owner == CORE or (owner is not None and getattr(host().infos.get(owner), "system", False))


# --- SQL ----------------------------------------------------------------------------------------------------------


def _rows(kpi, scope: KpiScope):
    return kpi.records(scope).subquery("r")


def measure(kpi, rows):
    """The SQL expression of the KPI's value over the subquery `rows`."""
    kind, _, column = kpi.measure.partition(":")
    n = func.count()
    if kind == "count":
        return n
    col = rows.c[column]
    if kind == "rate":
        return func.round(cast(func.count().filter(col.is_(True)), Numeric) * 100 / func.nullif(n, 0), 1)
    if kind == "avg":
        return func.round(func.avg(cast(col, Numeric)), 2)
    if kind == "median":  # the 50th percentile, interpolated (percentile_cont): robust to a few very late replies
        return func.round(cast(func.percentile_cont(0.5).within_group(cast(col, Float)), Numeric), 2)
    if kind == "sum":
        return func.coalesce(func.sum(col), 0)
    promoters = func.count().filter(col >= 9)
    detractors = func.count().filter(col <= 6)
    return func.round(cast(promoters - detractors, Numeric) * 100 / func.nullif(n, 0), 1)


def statement_cacheable(records):
    """Mark a KPI's `records(scope)` as using the scope's values only inside SQL expressions (comparisons, SQL
    arithmetic; `scope.stores`, `scope.viewer_stores`) and branching only on which filters are set, the viewer's
    seeing all stores and `details`. The engine then builds its value statement once per such shape, with the
    values as bound parameters, and reuses it (building a statement costs more than running a sub-millisecond one)."""
    records.statement_cacheable = True
    return records


class _BoundScope:
    """A KpiScope whose values are bound parameters named with `suffix` (the period before gets its own), for the
    statements built once per shape (see `statement_cacheable`)."""

    def __init__(self, scope: KpiScope, suffix: str):
        at = DateTime(timezone=True)
        self.period, self.details = scope.period, scope.details
        self.start = bindparam(f"kpi_start{suffix}", type_=at)
        self.end = bindparam(f"kpi_end{suffix}", type_=at)
        self.as_of = bindparam(f"kpi_as_of{suffix}", type_=at)
        self.store_id = None if scope.store_id is None else bindparam("kpi_store_id", type_=BigInteger)
        self.staff_id = None if scope.staff_id is None else bindparam("kpi_staff_id", type_=BigInteger)
        self.channel = None if scope.channel is None else bindparam("kpi_channel", type_=String)
        self._store_ids = bindparam("kpi_store_ids", type_=ARRAY(BigInteger))
        self.user = SimpleNamespace(id=bindparam("kpi_user_id", type_=BigInteger),
                                    sees_all_stores=scope.user.sees_all_stores, store_ids=self._store_ids)

    def viewer_stores(self, column):
        return true() if self.user.sees_all_stores else column == any_(self._store_ids)

    def stores(self, column):
        clauses = [] if self.user.sees_all_stores else [column == any_(self._store_ids)]
        if self.store_id is not None:
            clauses.append(column == self.store_id)
        return and_(*clauses) if clauses else true()

    @staticmethod
    def values(scope: KpiScope, suffix: str) -> dict:
        out = {f"kpi_start{suffix}": scope.start, f"kpi_end{suffix}": scope.end, f"kpi_as_of{suffix}": scope.as_of,
               "kpi_user_id": scope.user.id, "kpi_store_ids": list(scope.user.store_ids or [-1])}
        for key in ("store_id", "staff_id", "channel"):
            if getattr(scope, key) is not None:
                out[f"kpi_{key}"] = getattr(scope, key)
        return out


_VALUE_STATEMENTS: dict[tuple, Any] = {}
_PRECOMPILED: dict[tuple, Precompiled | bool] = {}


def _value_column(kpi, scope: KpiScope):
    """The scalar subquery of the KPI's value over its records: `count(*)` alone for counting KPIs (the value is the
    number), else an array [value, number]."""
    rows = _rows(kpi, scope)
    if kpi.measure == "count":
        return select(func.count()).select_from(rows).scalar_subquery()
    return select(array([cast(measure(kpi, rows), Numeric), cast(func.count(), Numeric)])).select_from(rows) \
        .scalar_subquery()


def _shape(kpi, scope: KpiScope, suffix: str) -> tuple | None:
    """What a `statement_cacheable` KPI's value statement depends on besides bound values (None: not cacheable)."""
    if not getattr(kpi.records, "statement_cacheable", False):
        return None
    return (kpi.code, kpi.records, kpi.measure, suffix, scope.user.sees_all_stores, scope.store_id is None,
            scope.staff_id is None, scope.channel is None, scope.details)


def _value_and_n(kpi, scope: KpiScope, suffix: str = "") -> tuple[Any, dict]:
    """(column, parameters) of the KPI's value over `scope`; a `statement_cacheable` KPI's column is built once per
    shape with its values bound (the parameters returned), any other's from the scope's values (no parameters)."""
    shape = _shape(kpi, scope, suffix)
    if shape is None:
        return _value_column(kpi, scope), {}
    column = _VALUE_STATEMENTS.get(shape)
    if column is None:
        column = _VALUE_STATEMENTS[shape] = _value_column(kpi, _BoundScope(scope, suffix))
    return column, _BoundScope.values(scope, suffix)


def _typed(kpi, pair) -> tuple[Any, int]:
    """(value, n) from a value column: a count alone, or [value, n] (a pair too from breakdowns and series)."""
    if kpi.measure == "count" and not isinstance(pair, (tuple, list)):
        n = int(pair or 0)
        return n, n
    value, n = pair if pair is not None else (None, 0)
    n = int(n or 0)
    if kpi.measure == "count":
        return n, n
    return (Decimal(value) if value is not None else None), n


def _values(kpis: list, scope: KpiScope, compare: bool):
    """One SELECT of the values of `kpis` over `scope` (and the period before when `compare`) with its parameters."""
    columns, params = [], {}
    for kpi in kpis:
        column, values = _value_and_n(kpi, scope)
        columns.append(column)
        params.update(values)
        if compare:
            column, values = _value_and_n(kpi, scope.previous(), "_p")
            columns.append(column)
            params.update(values)
    return select(*columns), params


def _precompiled(kpis: list, scope: KpiScope, compare: bool) -> tuple[Precompiled, dict] | None:
    """(statement, parameters) of `_values` compiled once per shape of the whole list, when every KPI in it is
    `statement_cacheable` (None otherwise): a page's cards, or one KPI's value, without SQLAlchemy preparing the
    statement again each time (it costs as much as running a small KPI's statement)."""
    shapes = tuple(_shape(k, scope, "") for k in kpis)
    if compare:
        shapes += tuple(_shape(k, scope.previous(), "_p") for k in kpis)
    if not shapes or None in shapes:
        return None
    key = (shapes, compare)
    statement = _PRECOMPILED.get(key)
    if statement is None:
        try:
            statement = Precompiled(_values(kpis, scope, compare)[0], db.engine.dialect)
        except ValueError:  # a parameter needs SQLAlchemy's type processing: this shape keeps the ORM path
            statement = False
        _PRECOMPILED[key] = statement
    if statement is False:
        return None
    params = _BoundScope.values(scope, "")
    if compare:
        params.update(_BoundScope.values(scope.previous(), "_p"))
    return statement, params


def _value_row(kpis: list, scope: KpiScope, compare: bool):
    precompiled = _precompiled(kpis, scope, compare)
    if precompiled is not None:
        statement, params = precompiled
        return statement.execute(db.session, params).one()
    statement, params = _values(kpis, scope, compare)
    return db.session.execute(statement, params).one()


def value_statement(kpi, scope: KpiScope) -> tuple[str, dict]:
    """(SQL, parameters) that `evaluate([kpi], scope, compare=False)` sends for a `statement_cacheable` KPI, the
    tenant's own criteria bound to the tenant in context (for the benchmark's plans)."""
    precompiled = _precompiled([kpi], replace(scope, details=False), False)
    if precompiled is None:
        raise ValueError(f"{kpi.code} is not statement_cacheable")
    statement, params = precompiled
    return statement.sql, {**statement.defaults, **params, "tenant_wall": current_tenant_id()}


def evaluate(kpis: list, scope: KpiScope, *, compare: bool = True) -> dict[str, KpiResult]:
    """{code: KpiResult} for `kpis` over `scope` (and the previous period when `compare`): the core's KPIs in one
    statement, each plugin KPI in its own savepoint (a failure marks its result `failed`). Only values are
    computed, so the records are asked without details (`KpiScope.details`)."""
    out: dict[str, KpiResult] = {}
    scope = replace(scope, details=False)
    trusted = [k for k in kpis if _trusted(k)]
    if trusted:
        row = _value_row(trusted, scope, compare)
        step = 2 if compare else 1
        for i, kpi in enumerate(trusted):
            value, n = _typed(kpi, row[i * step])
            previous, previous_n = _typed(kpi, row[i * step + 1]) if compare else (None, 0)
            out[kpi.code] = KpiResult(kpi, value, n, previous, previous_n)
    for kpi in kpis:
        if kpi.code in out:
            continue
        try:
            with db.session.begin_nested():
                row = _value_row([kpi], scope, compare)
            value, n = _typed(kpi, row[0])
            previous, previous_n = _typed(kpi, row[1]) if compare else (None, 0)
            out[kpi.code] = KpiResult(kpi, value, n, previous, previous_n)
        except Exception:  # a plugin's query may fail in any way: its card shows the error, the page stands
            log.exception("KPI %s failed", kpi.code)
            out[kpi.code] = KpiResult(kpi, None, 0, failed=True)
    return out


def records(kpi, scope: KpiScope, *, limit: int | None = 50, after_id: int | None = None) -> list:
    """The records the KPI counts over `scope`, by id (keyset: those after `after_id`); `limit=None` for all."""
    rows = _rows(kpi, scope)
    query = select(rows).order_by(rows.c.id)
    if after_id is not None:
        query = query.where(rows.c.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.execute(query).mappings())


def breakdown(kpi, scope: KpiScope, column: str) -> list[tuple[Any, Any, Any, int]]:
    """[(key, label, value, n)] of the KPI grouped by `column` (one of `kpi.group_by`), biggest value first. A
    `<column>_name` column of the rows, when there is one, is the label."""
    if column not in kpi.group_by:
        raise ValueError("group_by")
    rows = _rows(kpi, scope)
    key = rows.c[column]
    label = rows.c[f"{column}_name"] if f"{column}_name" in rows.c else key
    value = measure(kpi, rows)
    query = select(key, func.min(label), value, func.count()).group_by(key).order_by(value.desc().nulls_last(), key)
    return [(k, lab, _typed(kpi, (v, n))[0], n) for k, lab, v, n in db.session.execute(query)]


def series(kpi, scope: KpiScope) -> list[tuple[date, Any, int]]:
    """[(first day of bucket, value, n)] over the period by day, week or month of the rows' time column, in the
    tenant's zone; buckets without records are there with value 0 (count) or None."""
    if kpi.time_column is None:
        raise ValueError("time_column")
    grain = scope.period.grain
    rows = _rows(kpi, scope)
    local = func.timezone(str(report_zone()), rows.c[kpi.time_column])
    bucket = cast(func.date_trunc(grain, local), db.Date).label("bucket")
    found = {b: _typed(kpi, (v, n)) for b, v, n in db.session.execute(
        select(bucket, measure(kpi, rows), func.count()).group_by(bucket))}
    out, day = [], _bucket_start(scope.period.first, grain)
    while day <= scope.period.last:
        value, n = found.get(day, (0 if kpi.measure == "count" else None, 0))
        out.append((day, value, n))
        day = _next_bucket(day, grain)
    return out


def _bucket_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _next_bucket(day: date, grain: str) -> date:
    if grain == "day":
        return day + timedelta(days=1)
    if grain == "week":
        return day + timedelta(days=7)
    return (day + timedelta(days=32)).replace(day=1)


def case_bool(condition):
    """A boolean column for `rate:` measures that is never NULL."""
    return case((condition, True), else_=False)
