"""The report builder's record types are `ReportSource` declarations collected through `register_report_sources`
(the core's too); custom fields are dimensions, filters and measures; the viewer's stores are part of the compiled
statement of every report and every KPI, so a store-limited manager's numbers and rows exclude other stores."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.fields.models import FieldDefinition
from storecrm.hooks.runtime import host
from storecrm.reports import builder, engine
from storecrm.reports.periods import period_of
from storecrm.users.models import User

from .sales_seed import customer


@pytest.fixture
def shop(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        session.add(FieldDefinition(entity="customer", code="budget", label_zh="预算", label_en="Budget",
                                    type="money"))
        session.add(FieldDefinition(entity="customer", code="style", label_zh="风格", label_en="Style", type="select"))
        for name, store, budget, style in (("甲", 0, "5000", "古典"), ("乙", 0, "15000", "流行"),
                                           ("丙", 1, "20000", "流行"), ("丁", 1, "abc", None)):
            c = session.get(Customer, (alpha.id, customer(alpha, name, store)))
            c.custom = {"budget": budget, **({"style": style} if style else {})}
        db.session.flush()
    return alpha, beta


def _user(session, world, role):
    return session.get(User, (world.id, world.users[role]))


def test_core_record_types_come_through_the_hook(app, in_tenant, two_tenants):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        owners = {host().owner_of("register_report_sources", s) for s in host().items("register_report_sources")}
        assert "storecrm-core" in owners or any("core" in o for o in owners)
        codes = set(builder.entities_for(_user(session, alpha, "owner")))
        assert {"customers", "orders", "appointments", "leads", "survey_responses"} <= codes


def test_custom_fields_are_dimensions_filters_and_measures(shop, in_tenant):
    alpha, _ = shop
    with in_tenant(alpha) as session:
        owner = _user(session, alpha, "owner")
        by_style = builder.run(owner, {"entity": "customers", "group_by": "custom.style", "aggregate": "sum",
                                       "measure": "custom.budget", "sort": "group", "chart": "bar"})
        # the badly typed budget ("abc") is no number: left out of the sum, never an error
        assert {tuple(r) for r in by_style.rows if r[0] in ("古典", "流行")} == {("古典", 5000), ("流行", 35000)}
        rich = builder.run(owner, {"entity": "customers", "columns": ["name"],
                                   "where": {"all": [{"field": "custom.budget", "op": "gte", "value": 10000},
                                                     {"not": {"field": "custom.style", "op": "eq", "value": "古典"}}]}})
        assert sorted(r[0] for r in rich.rows) == ["丙", "乙"]
        pivot = builder.run(owner, {"entity": "customers", "chart": "pivot", "group_by": "store",
                                    "group_by2": "custom.style"})
        assert sum(r[2] for r in pivot.rows) >= 4
        with pytest.raises(ValidationError) as err:
            builder.check_spec(owner, {"entity": "customers", "where": {"field": "custom.x'--", "op": "eq",
                                                                         "value": "1"}})
        assert "where" in err.value.messages


def test_a_store_limited_manager_sees_their_stores_in_every_report_and_kpi(shop, in_tenant):
    alpha, _ = shop
    with in_tenant(alpha) as session:
        owner, manager = _user(session, alpha, "owner"), _user(session, alpha, "manager")
        assert not manager.sees_all_stores and manager.store_ids == [alpha.stores[0]]
        spec = {"entity": "customers", "chart": "number", "date_field": "created_at", "period": "month"}
        mine, everyone = builder.run(manager, spec), builder.run(owner, spec)
        assert everyone.rows[0][0] - mine.rows[0][0] == sum(
            1 for c in session.query(Customer).filter(Customer.store_id == alpha.stores[1]))
        listed = builder.run(manager, {"entity": "customers", "columns": ["name", "store"]})
        assert listed.rows and all(r[0] not in ("丙", "丁") for r in listed.rows)
        # every KPI's one statement carries the manager's stores as a parameter: scoped in SQL, not afterwards
        scope = engine.scope_for(manager, period_of("month"))
        for _owner, kpi in engine.registered():
            if kpi.records is None:
                continue
            params = kpi.records(scope).compile().params.values()
            assert any(v == [alpha.stores[0]] or v == (alpha.stores[0],) for v in params), kpi.code


def test_a_saved_report_is_a_dashboard_widget_run_for_each_viewer(shop, login, in_tenant):
    alpha, _ = shop
    with in_tenant(alpha) as session:
        from storecrm.reports import saved

        report = saved.save_report(_user(session, alpha, "owner"), None, "各店客户",
                                   {"entity": "customers", "group_by": "store", "chart": "pie"})
        report_id = report.id
    owner = login(alpha, "owner")
    created = owner.post("/t/alpha/reports/dashboards/new", {"name": "客户看板", "role_id": ""})
    board_id = int(created.headers["Location"].rstrip("/").split("/")[-2])
    compose = f"/t/alpha/reports/dashboards/{board_id}/compose"
    assert f'value="report:{report_id}"' in owner.get(compose).get_data(as_text=True)
    assert owner.post(compose, {"action": "add", "code": f"report:{report_id}"}).status_code == 302
    assert owner.post(compose, {"action": "add", "code": "report:999999"}).status_code == 422
    everyone = owner.get(f"/t/alpha/reports/dashboards/{board_id}").get_data(as_text=True)
    assert f'data-report="{report_id}"' in everyone and "ALPHA Store Two" in everyone
    mine = login(alpha, "manager").get(f"/t/alpha/reports/dashboards/{board_id}").get_data(as_text=True)
    assert f'data-report="{report_id}"' in mine and "ALPHA Store Two" not in mine
