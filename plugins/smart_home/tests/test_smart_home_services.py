"""Smart home, through the services: contracts plan their visits exactly once (two schedulers at once), parts leave
the van and land on the device's history, dispatch follows district and skill, Chinese search in the knowledge
base, the KPIs count what happened."""
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from smart_home_testkit import PNG, installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")


def test_a_quarterly_contract_plans_the_next_two_quarters_once_even_with_two_schedulers(app, make_tenant, in_tenant,
                                                                                       system_db):
    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import ContractVisit, WorkOrder

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        contract = services.create_contract(None, {
            "customer_id": ids["customer"], "starts_on": date(2027, 1, 1), "ends_on": date(2027, 12, 31),
            "frequency": "quarterly", "price": Decimal("1200.00"), "response_hours": 24,
            "property_ids": [ids["home"]], "asset_ids": [ids["device"]]})
        contract_id = contract.id
    barrier, errors = threading.Barrier(2), []

    def scheduler():
        try:
            with in_tenant(alpha):
                barrier.wait()
                services.plan_contract_visits(date(2027, 1, 1))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with in_tenant(alpha) as session:
        planned = [v.due_on for v in session.scalars(select(ContractVisit).where(ContractVisit.contract_id == contract_id)
                                                     .order_by(ContractVisit.due_on))]
        assert planned == [date(2027, 1, 1), date(2027, 4, 1)]
        orders = list(session.scalars(select(WorkOrder).where(WorkOrder.contract_id == contract_id)))
        assert sorted(o.due_on for o in orders) == planned and {o.kind for o in orders} == {"maintenance"}
        assert services.plan_contract_visits(date(2027, 1, 1)) == []          # run again: nothing new
        # the window rolls on: the next night the third visit (1 July) comes within six months, once
        assert [v.due_on for v in services.plan_contract_visits(date(2027, 1, 2))] == [date(2027, 7, 1)]
        assert services.plan_contract_visits(date(2027, 2, 1)) == []
        # a month before the end, the renewal task is opened once
        services.plan_contract_visits(date(2027, 12, 5))
        services.plan_contract_visits(date(2027, 12, 6))
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tasks WHERE related_type = 'smart_home_contract'")).scalar() == 1


def test_an_engineer_checks_in_uses_a_part_from_the_van_and_the_device_keeps_the_history(app, make_tenant,
                                                                                         in_tenant):
    from storecrm.sdk import InsufficientStock, StockLocation, User, get_catalog_item, get_scoped, stock_available
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    t0 = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    with in_tenant(alpha):
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock",
                                                  "description": "指纹打不开"}, source="public", now=t0)
        # dispatched to the engineer covering the district with the lock skill, property taken from the device
        assert order.engineer_id == ids["tech"] and order.state == "assigned" and order.property_id == ids["home"]
        tech = get_scoped(User, ids["tech"])
        services.accept(tech, order, now=t0 + timedelta(minutes=12))
        services.check_in(tech, order, {"latitude": Decimal("31.231000"), "longitude": Decimal("121.500000")},
                          now=t0 + timedelta(minutes=50))
        assert 100 <= order.check_in_distance_m <= 125
        services.use_part(tech, order, {"item_id": ids["module"], "quantity": Decimal("1")})
        with pytest.raises(InsufficientStock):
            services.use_part(tech, order, {"item_id": ids["module"], "quantity": Decimal("9")})
        van = get_scoped(StockLocation, ids["vans"][ids["tech"]])
        assert stock_available(get_catalog_item(ids["module"]), van) == Decimal("4")
        with pytest.raises(Exception):
            services.complete(tech, order, {"diagnosis": "模组损坏", "report": "更换", "signed_name": "王", "signature": None})
        services.complete(tech, order, {"diagnosis": "指纹模组损坏", "report": "更换指纹模组，测试正常",
                                        "signed_name": "王女士", "signature": PNG, "fixed": True},
                          now=t0 + timedelta(minutes=95))
        assert order.state == "done" and order.minutes_on_site == 45 and order.first_time_fix is True
        history = services.device_history(ids["device"])
        assert [o.id for o in history["orders"]] == [order.id]
        assert [name for _usage, name in history["parts"]] == ["指纹识别模组"]
        assert [e.to_state for e, _who in services.history_of(order.id)] == [
            "pending", "assigned", "on_the_way", "on_site", "done"]


def test_dispatch_follows_the_district(app, make_tenant, in_tenant):
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        from storecrm.sdk import Customer, get_scoped
        customer = get_scoped(Customer, ids["customer"])
        xuhui = services.save_property(None, customer, {"label": "父母家", "address": "漕溪北路1号", "district": "徐汇区"})
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "property_id": xuhui.id, "fault_type": "lock"})
        assert order.engineer_id == ids["other"]


def test_the_knowledge_base_finds_chinese_words_and_suggests_articles(app, make_tenant, in_tenant):
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        titles = [a.title for a in services.search_articles("指纹")]
        assert titles == ["智能门锁指纹识别失败怎么办"]               # seeded on first enable
        assert [a.title for a in services.search_articles("配网 网关")] == ["网关离线、设备无法配网的排查"]
        assert services.search_articles("洗衣机") == []
        assert services.search_articles("100%_") == []
        article = services.save_article(None, services.ArticleSchema().load({
            "title": "X1 门锁低电量提示", "kind": "faq", "body": "更换电池", "model_item_ids": [ids["lock"]],
            "fault_types": ["power"]}))
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        suggested = [a.title for a in services.suggested_articles(order)]
        assert suggested[0] == article.title or "智能门锁指纹识别失败怎么办" in suggested
        assert set(suggested) == {"X1 门锁低电量提示", "智能门锁指纹识别失败怎么办"}


def test_the_kpis_count_failures_by_model_and_fault(app, make_tenant, in_tenant, api_token):
    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        tech = get_scoped(User, ids["tech"])
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        services.check_in(tech, order, {})
        services.use_part(tech, order, {"item_id": ids["module"], "quantity": Decimal("2")})
        services.complete(tech, order, {"diagnosis": "坏", "report": "修好", "signed_name": "王", "signature": PNG})
    client, headers = app.test_client(), api_token(alpha, "owner")
    value = lambda code: client.get(f"/api/v1/kpis/{code}/value?period=month", headers=headers).get_json()
    assert value("smart_home.failure_rate")["value"] in ("100", "100.0", 100, "100.00", 100.0)
    assert value("smart_home.tickets")["count"] == 1
    assert Decimal(str(value("smart_home.parts_consumption")["value"])) == Decimal("2")
    assert value("smart_home.first_time_fix")["count"] == 1
    rows = client.get("/api/v1/kpis/smart_home.repairs_by_fault/records?period=month", headers=headers).get_json()
    assert [(r["fault_type"], r["model_item_id_name"]) for r in rows["items"]] == [("lock", "智能门锁 X1")]


def test_a_part_not_on_the_van_is_requested_from_the_store_and_contracts_count_as_revenue(app, make_tenant,
                                                                                         in_tenant, api_token,
                                                                                         system_db):
    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        request = services.request_part(get_scoped(User, ids["tech"]), order, {"item_id": ids["module"],
                                                                               "quantity": Decimal("2")})
        assert request.reason == "part_request" and request.work_order_id == order.id and request.state == "open"
        with pytest.raises(Exception):
            services.request_part(get_scoped(User, ids["other"]), order, {"item_id": ids["module"]})
        from storecrm.sdk import tenant_today
        services.create_contract(None, {"customer_id": ids["customer"], "starts_on": tenant_today(),
                                        "ends_on": tenant_today() + timedelta(days=365), "frequency": "yearly",
                                        "price": Decimal("1880.00")})
    value = app.test_client().get("/api/v1/kpis/smart_home.contract_revenue/value?period=month",
                                  headers=api_token(alpha, "owner")).get_json()
    assert Decimal(str(value["value"])) == Decimal("1880.00")


def test_a_job_is_under_warranty_covered_by_a_contract_or_billable(app, make_tenant, in_tenant):
    from storecrm.sdk import Asset, get_scoped, tenant_today
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        assert services.coverage_of(order)["code"] == "warranty"
        get_scoped(Asset, ids["device"]).warranty_until = date(2026, 2, 1)
        assert services.coverage_of(order)["code"] == "billable"
        services.create_contract(None, {"customer_id": ids["customer"], "starts_on": tenant_today() - timedelta(days=1),
                                        "ends_on": tenant_today() + timedelta(days=300), "frequency": "yearly",
                                        "price": Decimal("900"), "response_hours": 4, "property_ids": [ids["home"]]})
        covered = services.coverage_of(order)
        assert covered["code"] == "contract" and covered["respond_by"] == order.reported_at + timedelta(hours=4)


def test_an_install_is_completed_only_with_the_required_worksheet_items_ticked(app, make_tenant, in_tenant):
    from marshmallow import ValidationError

    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        tech = get_scoped(User, ids["tech"])
        order = services.create_work_order(None, {"kind": "install", "customer_id": ids["customer"],
                                                  "property_id": ids["home"]})
        assert order.engineer_id == ids["tech"]
        services.check_in(tech, order, {})
        report = {"diagnosis": "新装", "report": "安装 3 台", "signed_name": "王", "signature": PNG}
        with pytest.raises(ValidationError) as refused:
            services.complete(tech, order, {**report, "worksheet": ["points"]})
        assert "worksheet" in refused.value.messages and order.state == "on_site"
        services.complete(tech, order, {**report, "worksheet": ["points", "power", "app"]})
        assert order.state == "done" and order.worksheet == {"points": True, "power": True, "app": True,
                                                             "clean": False}
        services.save_worksheet("install", "*核对型号\n拍照留档")
        assert [(i["label"], i["required"]) for i in services.worksheet_for("install")] == [
            ("核对型号", True), ("拍照留档", False)]
