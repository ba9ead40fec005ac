"""The KPI engine: values against hand-counted fixtures in two tenants, period bounds in Shanghai, drill-down == count,
store-limited staff, charts, exports, threshold alerts once per crossing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from storecrm.activities.models import Interaction, Task
from storecrm.customers.models import Customer
from storecrm.reports import engine
from storecrm.reports.periods import period_of
from storecrm.users.models import User

UTC = timezone.utc
NOV = date(2026, 11, 15)


def at(y, m, d, h=12, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=UTC)


def _user(session, world, role="owner"):
    return session.get(User, (world.id, world.users[role]))


def _kpi(user, code):
    kpi = engine.get_kpi(user, code)
    assert kpi is not None, code
    return kpi


def _value(session, world, code, period, role="owner", **filters):
    user = _user(session, world, role)
    kpi = _kpi(user, code)
    scope = engine.scope_for(user, period, **filters)
    result = engine.evaluate([kpi], scope)[code]
    rows = engine.records(kpi, scope, limit=None)
    assert result.n == len(rows), (code, result.n, len(rows))  # the number and its list are one query
    return result, rows


def seed(session, world, n_new: int):
    """Per tenant: `n_new` customers created in November 2026 in store 1, one in October, a dormant one, tasks."""
    s1, s2 = world.stores
    owner = world.users["owner"]
    made = []
    for i in range(n_new):
        c = Customer(name=f"{world.slug}-nov-{i}", store_id=s1, created_at=at(2026, 11, 3 + i), source="referral")
        session.add(c)
        made.append(c)
    october = Customer(name=f"{world.slug}-oct", store_id=s2, created_at=at(2026, 10, 20))
    dormant = Customer(name=f"{world.slug}-dormant", store_id=s2, created_at=at(2025, 1, 1))
    session.add_all([october, dormant])
    session.flush()
    # the fixture's own customers are created "now" (December 2026 or later): they are no November customers
    session.execute(text("UPDATE customers SET created_at = :t WHERE id = ANY(:ids)"),
                    {"t": at(2026, 12, 2), "ids": world.customers})
    # November interactions: two of the new customers are active (one twice), october's customer too
    session.add_all([
        Interaction(customer_id=made[0].id, kind="call", body="x", user_id=owner, occurred_at=at(2026, 11, 10)),
        Interaction(customer_id=made[0].id, kind="visit", body="x", user_id=owner, occurred_at=at(2026, 11, 11)),
        Interaction(customer_id=october.id, kind="visit", body="x", user_id=owner, occurred_at=at(2026, 11, 12)),
        Interaction(customer_id=dormant.id, kind="call", body="x", user_id=owner, occurred_at=at(2025, 3, 1)),
    ])
    # follow-ups due in November: 3 done, 1 open, 1 cancelled (left out); one due in December
    for status in ("done", "done", "done", "open", "cancelled"):
        session.add(Task(title=f"follow {status}", assignee_id=owner, customer_id=made[0].id,
                         due_at=at(2026, 11, 20), status=status,
                         done_at=at(2026, 11, 25) if status == "done" else None))
    session.add(Task(title="december", assignee_id=owner, customer_id=made[0].id, due_at=at(2026, 12, 20)))
    session.flush()
    return made, october, dormant


@pytest.fixture
def seeded(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        seed(session, alpha, 3)
    with in_tenant(beta) as session:
        seed(session, beta, 5)
    return alpha, beta


def test_new_customers_per_tenant_with_previous_period(seeded, in_tenant):
    alpha, beta = seeded
    november = period_of("month", NOV)
    with in_tenant(alpha) as session:
        result, rows = _value(session, alpha, "customers.new", november)
        assert result.value == 3 and result.previous == 1  # October: one
        assert {r["name"] for r in rows} == {"alpha-nov-0", "alpha-nov-1", "alpha-nov-2"}
    with in_tenant(beta) as session:
        result, rows = _value(session, beta, "customers.new", november)
        assert result.value == 5 and all(r["name"].startswith("beta-") for r in rows)


def test_channel_and_store_filters(seeded, in_tenant):
    alpha, _ = seeded
    november = period_of("month", NOV)
    with in_tenant(alpha) as session:
        assert _value(session, alpha, "customers.new", november, channel="referral")[0].value == 3
        assert _value(session, alpha, "customers.new", november, channel="walk-in")[0].value == 0
        assert _value(session, alpha, "customers.new", november, store_id=alpha.stores[1])[0].value == 0
        assert _value(session, alpha, "customers.active", november, channel="visit")[0].value == 2


def test_active_dormant_follow_up_overdue(seeded, in_tenant):
    alpha, _ = seeded
    november = period_of("month", NOV)
    with in_tenant(alpha) as session:
        active, rows = _value(session, alpha, "customers.active", november)
        assert active.value == 2 and {r["name"] for r in rows} == {"alpha-nov-0", "alpha-oct"}
        dormant, rows = _value(session, alpha, "customers.dormant", november)
        assert [r["name"] for r in rows] == ["alpha-dormant"]
        rate, rows = _value(session, alpha, "tasks.follow_up_completion", november)
        assert rate.value == Decimal("75.0") and len(rows) == 4  # 3 of 4, the cancelled one left out
        # at the end of November the open task was overdue, and so were the three done only on the 25th? no: done
        # before the 30th; the open one only
        overdue, rows = _value(session, alpha, "tasks.overdue", november)
        assert overdue.value == 1 and rows[0]["title"] == "follow open"
        # as of 22 November, the done ones (done on the 25th) were overdue too
        overdue, _rows = _value(session, alpha, "tasks.overdue", period_of("custom", first=date(2026, 11, 1),
                                                                           last=date(2026, 11, 21)))
        assert overdue.value == 4


def test_period_bounds_are_local_midnights_in_shanghai(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.execute(text("UPDATE customers SET created_at = :t"), {"t": at(2026, 12, 5)})
        # 1 Dec 00:30 in Shanghai is 30 Nov 16:30 UTC: December's. 30 Nov 23:59 local (15:59 UTC): November's.
        session.add_all([Customer(name="just-december", store_id=alpha.stores[0], created_at=at(2026, 11, 30, 16, 30)),
                         Customer(name="still-november", store_id=alpha.stores[0], created_at=at(2026, 11, 30, 15, 59))])
    with in_tenant(alpha) as session:
        _r, nov = _value(session, alpha, "customers.new", period_of("month", NOV))
        _r, dec = _value(session, alpha, "customers.new", period_of("month", date(2026, 12, 1)))
        _r, day = _value(session, alpha, "customers.new", period_of("day", date(2026, 12, 1)))
        assert "still-november" in {r["name"] for r in nov} and "just-december" not in {r["name"] for r in nov}
        assert "just-december" in {r["name"] for r in dec} and [r["name"] for r in day] == ["just-december"]
        week = period_of("week", date(2026, 12, 3))  # Thursday: the week runs Monday 30 Nov to Sunday 6 Dec
        assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
        start, end = week.bounds()
        assert start == at(2026, 11, 29, 16) and end == at(2026, 12, 6, 16)


@pytest.mark.parametrize("code", ["customers.new", "customers.active", "customers.dormant",
                                  "tasks.follow_up_completion", "tasks.overdue", "surveys.csat", "surveys.nps",
                                  "surveys.response_rate"])
def test_every_core_kpi_drill_down_lists_exactly_what_it_counts(code, seeded, in_tenant):
    alpha, _ = seeded
    with in_tenant(alpha) as session:
        for period in (period_of("month", NOV), period_of("week", NOV), period_of("day", date(2026, 11, 10))):
            _value(session, alpha, code, period)  # asserts n == len(records)


def test_store_staff_see_their_stores_only(seeded, in_tenant):
    alpha, _ = seeded
    november = period_of("month", NOV)
    with in_tenant(alpha) as session:
        # the advisor works in store 1 only: October's customer (store 2) is no active customer of theirs
        active, rows = _value(session, alpha, "customers.active", november, role="advisor")
        assert {r["name"] for r in rows} == {"alpha-nov-0"}
        user = _user(session, alpha, "advisor")
        with pytest.raises(ValueError):
            engine.scope_for(user, november, store_id=alpha.stores[1])


def test_charts_come_from_the_same_rows(seeded, in_tenant):
    alpha, _ = seeded
    with in_tenant(alpha) as session:
        user = _user(session, alpha)
        kpi = _kpi(user, "customers.new")
        scope = engine.scope_for(user, period_of("month", NOV))
        points = engine.series(kpi, scope)
        assert len(points) == 30 and sum(v for _d, v, _n in points) == 3
        assert [(d.day, v) for d, v, _n in points if v] == [(3, 1), (4, 1), (5, 1)]
        groups = engine.breakdown(kpi, scope, "store_id")
        assert [(k, v) for k, _label, v, _n in groups] == [(alpha.stores[0], 3)]


def test_a_plugin_kpi_failing_in_sql_fails_alone(seeded, in_tenant, app):
    from flask_babel import lazy_gettext as _l
    from sqlalchemy import literal_column

    from storecrm.hooks.contrib import Kpi

    broken = Kpi("broken.kpi", _l("Broken"), _l("x"), records=lambda scope: select(
        literal_column("1").label("id")).where(text("no_such_column = 1")))
    alpha, _ = seeded
    with in_tenant(alpha) as session:
        user = _user(session, alpha)
        registry = app.extensions["storecrm"]
        registry.contributions["register_kpis"].append(("carwash", broken))
        try:
            results = engine.evaluate([_kpi(user, "customers.new"), broken],
                                      engine.scope_for(user, period_of("month", NOV)))
        finally:
            registry.contributions["register_kpis"].remove(("carwash", broken))
        assert results["broken.kpi"].failed and results["customers.new"].value == 3


def test_reports_pages_export_and_drill_down(seeded, login):
    alpha, beta = seeded
    b = login(alpha, "owner")
    page = b.get("/t/alpha/reports/?period=month&date=2026-11-15")
    assert page.status_code == 200 and 'data-kpi="customers.new"' in page.get_data(as_text=True)
    kpi = b.get("/t/alpha/reports/kpis/customers.new?period=month&date=2026-11-15").get_data(as_text=True)
    assert kpi.count("data-record=") == 3 and "beta-" not in kpi and "data-chart=" in kpi
    csv = b.get("/t/alpha/reports/kpis/customers.new/export.csv?period=month&date=2026-11-15")
    assert csv.status_code == 200 and csv.get_data(as_text=True).count("alpha-nov-") == 3
    xlsx = b.client.get("/t/alpha/reports/kpis/tasks.overdue/export.xlsx?period=month&date=2026-11-15")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert b.get("/t/alpha/reports/kpis/customers.new?period=custom&start=2026-12-01&end=2026-11-01").status_code == 422
    assert b.get("/t/alpha/reports/kpis/customers.new?period=nonsense").status_code == 422
    assert b.get("/t/alpha/reports/kpis/no.such.kpi").status_code == 404
    # the technician holds no reports.view
    assert login(alpha, "technician").get("/t/alpha/reports/").status_code == 403


def test_home_workbench_shows_role_kpis(seeded, login):
    alpha, _ = seeded
    home = login(alpha, "manager").get("/t/alpha/").get_data(as_text=True)
    assert 'data-testid="workbench"' in home and 'data-kpi="customers.dormant"' in home
    advisor = login(alpha, "advisor").get("/t/alpha/").get_data(as_text=True)
    assert 'data-kpi="customers.new"' in advisor and 'data-kpi="customers.dormant"' not in advisor
    assert 'data-testid="my-day"' in advisor


def test_dashboard_compose_and_role_home(seeded, login, in_tenant):
    alpha, _ = seeded
    b = login(alpha, "owner")
    page = b.get("/t/alpha/reports/dashboards/new")
    resp = b.post("/t/alpha/reports/dashboards/new", {"name": "店长看板", "role_id": str(alpha.roles["manager"])})
    assert resp.status_code == 302
    board_id = int(resp.headers["Location"].rstrip("/").split("/")[-2])
    compose = f"/t/alpha/reports/dashboards/{board_id}/compose"
    b.get(compose)
    assert b.post(compose, {"action": "add", "code": "kpi:customers.new", "chart": "line"}).status_code == 302
    assert b.post(compose, {"action": "add", "code": "kpi:customers.active", "chart": "bar"}).status_code == 302
    assert b.post(compose, {"action": "add", "code": "kpi:tasks.overdue", "chart": "line"}).status_code == 422
    assert b.post(compose, {"action": "add", "code": "kpi:'; DROP TABLE customers; --"}).status_code == 422
    with in_tenant(alpha) as session:
        from storecrm.reports.models import Dashboard

        board = session.get(Dashboard, (alpha.id, board_id))
        n = len(board.items)
        last = board.items[-1]
    assert b.post(compose, {"action": "up", "index": str(n - 1)}).status_code == 302
    with in_tenant(alpha) as session:
        board = session.get(Dashboard, (alpha.id, board_id))
        assert board.items[-2] == last
    view = b.get(f"/t/alpha/reports/dashboards/{board_id}?period=month&date=2026-11-15").get_data(as_text=True)
    assert 'data-testid="chart-line"' in view and 'data-testid="chart-bar"' in view
    home = login(alpha, "manager").get("/t/alpha/").get_data(as_text=True)
    assert "店长看板" in home and 'data-kpi="customers.active"' in home
    assert page.status_code == 200


def test_threshold_alert_notifies_once_per_crossing(seeded, in_tenant, app):
    from storecrm.notifications.models import Notification
    from storecrm.reports import services
    from storecrm.reports.models import KpiThreshold

    alpha, _ = seeded
    with in_tenant(alpha) as session:
        owner = _user(session, alpha)
        threshold = services.save_threshold(owner, None, {"kpi_code": "tasks.overdue", "period": "month",
                                                          "direction": "above", "value": Decimal("1")})
        threshold_id = threshold.id
        # this month: the December task is not due yet; make two overdue ones
        for i in range(2):
            session.add(Task(title=f"late {i}", assignee_id=alpha.users["owner"], due_at=datetime.now(UTC) -
                             timedelta(minutes=5)))
    counts = []
    for _ in range(3):
        with in_tenant(alpha) as session:
            services.check_thresholds()
        with in_tenant(alpha) as session:
            counts.append(session.scalar(select(text("count(*)")).select_from(Notification)))
    assert counts[0] == 2 and counts == [2, 2, 2]  # crossed once: the owner and the admin told once
    with in_tenant(alpha) as session:
        session.execute(text("UPDATE tasks SET status = 'done', done_at = now() WHERE title LIKE 'late %'"))
    with in_tenant(alpha) as session:
        services.check_thresholds()  # back under: armed again, nobody told
        assert session.get(KpiThreshold, (alpha.id, threshold_id)).crossed is False
    with in_tenant(alpha) as session:
        session.execute(text("UPDATE tasks SET status = 'open', done_at = NULL WHERE title LIKE 'late %'"))
    with in_tenant(alpha) as session:
        services.check_thresholds()
    with in_tenant(alpha) as session:
        assert session.scalar(select(text("count(*)")).select_from(Notification)) == 4  # the second crossing
