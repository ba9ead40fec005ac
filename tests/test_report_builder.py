"""The report builder: whitelisted fields only, SQL-looking input refused with a field error before anything runs (or,
as a text filter's value, treated as data), rows limited to the viewer's stores, saved per tenant, exported, and the
page and API on top."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import event, func, select

from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.reports import builder, saved
from storecrm.users.models import User

from .sales_seed import at, customer, order

ATTACKS = ["name; DROP TABLE customers; --", "id) FROM customers --", "1=1 OR", "\"name\"", "customers.name",
           "name' OR '1'='1", "__class__", "src.c", "pg_sleep(5)", ["name"], {"x": 1}, 7]


def _owner(session, world, role="owner"):
    return session.get(User, (world.id, world.users[role]))


class Statements:
    """Counts the statements sent to PostgreSQL while active, but for the metadata the builder reads to know its
    record types (which plugins are on, which custom fields exist): those are built from nothing the user sent."""

    METADATA = ("FROM tenant_plugins", "FROM field_definitions")

    def __init__(self):
        self.n = 0

    def __call__(self, conn, cursor, statement, *args, **kwargs):
        if not any(m in statement for m in self.METADATA):
            self.n += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def _refused(user, spec, key):
    with Statements() as sent:
        with pytest.raises(ValidationError) as err:
            builder.run(user, spec)
    assert key in err.value.messages, (key, err.value.messages)
    assert sent.n == 0, "a refused report must not reach the database"


@pytest.fixture
def shop(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha):
        c0, c1 = customer(alpha, "钱先生"), customer(alpha, "孙女士", 1)
        order(alpha, c0, 100, payments=[(100, at(2026, 11, 5), "cash")])
        order(alpha, c0, 250, payments=[(250, at(2026, 11, 8), "cash")])
        order(alpha, c1, 900, store=1, payments=[(900, at(2026, 11, 9), "alipay")])
    with in_tenant(beta):
        order(beta, customer(beta, "BETA 客户"), 7777, payments=[(7777, at(2026, 11, 9), "cash")])
    return alpha, beta


def test_sql_through_every_input_is_a_field_error_and_nothing_runs(shop, in_tenant):
    alpha, _ = shop
    base = {"entity": "customers", "columns": ["name"]}
    with in_tenant(alpha) as session:
        owner = _owner(session, alpha)
        for attack in ATTACKS:
            _refused(owner, {**base, "entity": attack}, "entity")
            _refused(owner, {**base, "columns": ["name", attack]}, "columns.1")
            _refused(owner, {**base, "filters": [{"field": attack, "op": "eq", "value": "x"}]}, "filters.0.field")
            _refused(owner, {**base, "filters": [{"field": "name", "op": attack, "value": "x"}]}, "filters.0.op")
            _refused(owner, {**base, "sort": attack}, "sort")
            _refused(owner, {**base, "direction": attack}, "direction")
            _refused(owner, {**base, "group_by": attack}, "group_by")
            _refused(owner, {**base, "group_by": "store", "aggregate": attack}, "aggregate")
            _refused(owner, {**base, "group_by": "store", "aggregate": "sum", "measure": attack}, "measure")
            _refused(owner, {**base, "group_by": "created_at", "grain": attack}, "grain")
            if not isinstance(attack, int):
                _refused(owner, {**base, "limit": attack}, "limit")
        # values are typed: SQL where a number, a date or a choice is expected is refused
        for field, op in (("lifetime_spend", "gte"), ("created_at", "after"), ("gender", "eq"),
                          ("created_at", "last_days")):
            _refused(owner, {**base, "filters": [{"field": field, "op": op, "value": "0 OR 1=1; DROP TABLE x"}]},
                     "filters.0.value")
        # an operator of another type is refused too (no LIKE on money, no "greater than" on a name)
        _refused(owner, {**base, "filters": [{"field": "lifetime_spend", "op": "contains", "value": "1"}]},
                 "filters.0.op")
        _refused(owner, {**base, "group_by": "store", "aggregate": "sum", "measure": "name"}, "measure")
        # and a record type the user may not see is no choice at all
        technician = _owner(session, alpha, "technician")
        _refused(technician, {"entity": "leads", "columns": ["name"]}, "entity")


def test_a_text_value_that_looks_like_sql_is_only_data(shop, in_tenant):
    alpha, _ = shop
    with in_tenant(alpha) as session:
        owner = _owner(session, alpha)
        before = session.scalar(select(func.count()).select_from(Customer))
        for value in ("x' OR '1'='1", "'; DROP TABLE customers; --", "%", "_", "\\"):
            result = builder.run(owner, {"entity": "customers", "columns": ["name"],
                                         "filters": [{"field": "name", "op": "contains", "value": value}]})
            assert result.rows == [], value  # nobody's name holds it: a bound parameter, LIKE wildcards escaped
        assert session.scalar(select(func.count()).select_from(Customer)) == before


def test_columns_filters_group_by_and_the_viewers_stores(shop, in_tenant):
    alpha, _ = shop
    with in_tenant(alpha) as session:
        owner = _owner(session, alpha)
        result = builder.run(owner, {"entity": "customers", "columns": ["name", "order_count", "lifetime_spend"],
                                     "filters": [{"field": "order_count", "op": "gte", "value": "1"}],
                                     "sort": "lifetime_spend", "direction": "desc"})
        assert result.rows == [["孙女士", 1, Decimal("900.00")], ["钱先生", 2, Decimal("350.00")]]
        grouped = builder.run(owner, {"entity": "orders", "columns": ["number"], "group_by": "store",
                                      "aggregate": "sum", "measure": "paid_total", "sort": "value",
                                      "direction": "desc"})
        assert grouped.grouped and grouped.rows == [["ALPHA Store Two", Decimal("900.00")],
                                                    ["ALPHA Store One", Decimal("350.00")]]
        by_month = builder.run(owner, {"entity": "orders", "columns": ["number"], "group_by": "created_at",
                                       "grain": "month", "aggregate": "count"})
        assert sum(r[1] for r in by_month.rows) == 3
        states = builder.run(owner, {"entity": "orders", "columns": ["number", "state"]})
        assert {r[1] for r in states.rows} == {"Draft"}  # choice codes shown by their label
        # the advisor works in store one: store two's customer and order are not in their report
        advisor = _owner(session, alpha, "advisor")
        mine = builder.run(advisor, {"entity": "orders", "columns": ["customer", "total"]})
        assert [r[0] for r in mine.rows] == ["钱先生", "钱先生"]
        assert all("BETA" not in str(r) for r in builder.run(owner, {"entity": "customers",
                                                                     "columns": ["name"]}).rows)


def test_saved_per_tenant_and_exported(shop, in_tenant):
    alpha, beta = shop
    spec = {"entity": "orders", "columns": ["number", "customer", "paid_total"], "sort": "paid_total"}
    with in_tenant(alpha) as session:
        owner = _owner(session, alpha)
        with pytest.raises(ValidationError) as err:
            saved.save_report(owner, None, "", {**spec, "columns": ["nope"]})
        assert set(err.value.messages) == {"name", "columns.0"}
        report = saved.save_report(owner, None, "订单收款", spec)
        report_id = report.id
        rows = list(csv.reader(io.StringIO(saved.export_csv(owner, report).decode("utf-8-sig"))))
        assert rows[0] == ["Order no.", "Customer", "Paid"]
        assert [r[2] for r in rows[1:]] == ["100.00", "250.00", "900.00"]
        assert saved.export_xlsx(owner, report)[:2] == b"PK"
    with in_tenant(beta) as session:
        owner = _owner(session, beta)
        assert saved.get_report(owner, report_id) is None and saved.saved_reports(owner) == []


def test_builder_page_and_api(shop, login, api_token, app):
    alpha, beta = shop
    b = login(alpha, "manager")
    page = b.get("/t/alpha/reports/builder/new?entity=orders")
    assert page.status_code == 200
    bad = b.post("/t/alpha/reports/builder/new?entity=orders", {
        "name": "x", "entity": "orders", "columns": "number", "filter_field_0": "total; DROP TABLE orders",
        "filter_op_0": "eq", "filter_value_0": "1"})
    assert bad.status_code == 422 and "Choose one of the listed options." in bad.get_data(as_text=True)
    made = b.post("/t/alpha/reports/builder/new?entity=orders", {
        "name": "大单", "entity": "orders", "columns": ["number", "customer", "total"],
        "filter_field_0": "total", "filter_op_0": "gte", "filter_value_0": "200", "sort": "total",
        "direction": "desc", "limit": "50"})
    assert made.status_code == 302, made.get_data(as_text=True)[:2000]
    shown = b.get(made.headers["Location"]).get_data(as_text=True)
    # the manager works in store one: store two's 900 is not theirs, the 100 is filtered out
    assert "大单" in shown and "250.00" in shown and "900.00" not in shown and "100.00" not in shown
    report_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    export = b.get(f"/t/alpha/reports/builder/{report_id}/export.csv")
    assert export.status_code == 200 and "250.00" in export.get_data(as_text=True)
    assert login(alpha, "technician").get("/t/alpha/reports/builder/").status_code == 403

    headers = api_token(alpha, "owner")
    client = app.test_client()
    assert "orders" in {e["code"] for e in client.get("/api/v1/reports/entities", headers=headers)
                        .get_json()["items"]}
    bad = client.post("/api/v1/reports", headers=headers, json={
        "name": "x", "spec": {"entity": "orders", "columns": ["number"], "group_by": "store) UNION SELECT 1 --"}})
    assert bad.status_code == 422 and "spec.group_by" in str(bad.get_json()), bad.get_json()
    created = client.post("/api/v1/reports", headers=headers, json={
        "name": "按门店", "spec": {"entity": "orders", "columns": ["number"], "group_by": "store",
                                 "aggregate": "sum", "measure": "total"}})
    assert created.status_code == 201, created.get_json()
    rid = created.get_json()["id"]
    ran = client.get(f"/api/v1/reports/{rid}/run", headers=headers).get_json()
    assert ran["columns"][0]["key"] == "group" and sorted(r[1] for r in ran["rows"]) == ["350.00", "900.00"]
    assert client.get(f"/api/v1/reports/{rid}/run", headers=api_token(beta, "owner")).status_code == 404


def test_every_record_type_runs_with_every_column_filter_and_grouping(shop, in_tenant):
    """Each whitelisted field compiles and runs: as a column (HQ and store staff), as a filter with each of its
    operators, and as the group (dates by month)."""
    alpha, _ = shop
    samples = {"text": "a", "number": "1", "money": "1", "datetime": "2026-11-01", "choice": None}
    with in_tenant(alpha) as session:
        for role in ("owner", "advisor"):
            user = _owner(session, alpha, role)
            for code, entity in builder.entities_for(user).items():
                builder.run(user, {"entity": code, "columns": list(entity.fields), "sort": "id",
                                   "direction": "desc"})
                for name, f in entity.fields.items() if role == "owner" else ():
                    for op in builder.OPERATORS_BY_TYPE[f.type]:
                        value = "3" if op == "last_days" else samples.get(f.type) or next(iter(f.choices), None)
                        builder.run(user, {"entity": code, "columns": ["id"],
                                           "filters": [{"field": name, "op": op, "value": value}]})
                    if name not in entity.dimension_names():  # ids and money are measured, not grouped by
                        _refused(user, {"entity": code, "group_by": name}, "group_by")
                        continue
                    builder.run(user, {"entity": code, "columns": ["id"], "group_by": name,
                                       "aggregate": "distinct", "measure": "id", "sort": "value"})
