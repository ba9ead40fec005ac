"""The field day: travel time from the engineer's previous job or base counts in dispatch (in words, and in the
order), the engineer's day lists the stops with distances and Amap / Baidu navigation, and a defective part taken out
on a job is followed back to the warehouse and the supplier."""
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text

from smart_home_testkit import installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")


def _speed(system_db, tenant_id, kmh):
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenant_plugins SET settings = settings || CAST(:s AS jsonb) "
                          "WHERE tenant_id = :t AND name = 'smart_home'"), {"s": f'{{"average_speed_kmh": {kmh}}}',
                                                                            "t": tenant_id})


def test_travel_time_from_the_base_or_the_previous_job_ranks_the_engineers(app, make_tenant, in_tenant, system_db):
    from storecrm.sdk import Customer, db, get_scoped
    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import Van

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    _speed(system_db, alpha.id, 30)
    with in_tenant(alpha) as session:
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"},
                                           dispatch_now=False)
        # without positions the district decides: the 浦东新区 engineer first, travel time unknown in words
        ranked = services.rank_for(order)
        assert ranked[0].user_id == ids["tech"]
        assert any("unknown" in r for r in ranked[0].reasons)
        # the district's engineer starts 60 km away, the other 1.1 km from the home (31.23, 121.50)
        for van in session.query(Van):
            van.base_latitude, van.base_longitude = ((Decimal("31.770000"), Decimal("121.500000"))
                                                     if van.engineer_id == ids["tech"]
                                                     else (Decimal("31.240000"), Decimal("121.500000")))
        session.flush()
        ranked = services.rank_for(order)
        by_id = {r.user_id: r for r in ranked}
        assert ranked[0].user_id == ids["other"]  # an hour's drive outweighs covering the district
        far = [r for r in by_id[ids["tech"]].reasons if "drive" in r][0]
        near = [r for r in by_id[ids["other"]].reasons if "drive" in r][0]
        assert far == "About 121 min drive from the base (60.0 km)"  # 60.0 km at 30 km/h, rounded up
        assert near == "About 3 min drive from the base (1.1 km)"
        # the district's engineer finishes a job next door today: his previous job is now the starting point
        customer = get_scoped(Customer, ids["customer"])
        next_door = services.save_property(None, customer, {"label": "店", "address": "张杨路102号",
                                                            "district": "浦东新区", "latitude": Decimal("31.231000"),
                                                            "longitude": Decimal("121.500000")})
        earlier = services.create_work_order(None, {"kind": "consultation", "customer_id": ids["customer"],
                                                    "property_id": next_door.id}, dispatch_now=False)
        db.session.execute(text("UPDATE users SET locale = 'zh_CN' WHERE id = :u"), {"u": ids["tech"]})
        db.session.expire_all()
        services.assign(None, earlier, ids["tech"])  # told in the engineer's language, whoever dispatches
        told = db.session.scalars(text("SELECT title FROM notifications WHERE user_id = :u"), {"u": ids["tech"]}).all()
        assert f"新工单 {earlier.number}" in told
        ranked = services.rank_for(order)
        assert ranked[0].user_id == ids["tech"]
        assert f"About 1 min drive from the previous job {earlier.number} (0.1 km)" in ranked[0].reasons
        # automatic dispatch takes the same ranking, and writes why
        services.dispatch(order)
        assert order.engineer_id == ids["tech"]


def test_the_engineers_day_lists_ordered_stops_with_distances_and_navigation(app, make_tenant, in_tenant, login,
                                                                             system_db):
    from storecrm.sdk import Customer, get_scoped
    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import Van

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha) as session:
        van = session.query(Van).filter(Van.engineer_id == ids["tech"]).one()
        van.base_latitude, van.base_longitude = Decimal("31.200000"), Decimal("121.500000")
        customer = get_scoped(Customer, ids["customer"])
        far = services.save_property(None, customer, {"label": "别墅", "address": "花木路1号", "district": "浦东新区",
                                                      "latitude": Decimal("31.300000"),
                                                      "longitude": Decimal("121.500000")})
        nowhere = services.save_property(None, customer, {"label": "仓库", "address": "未知路", "district": "浦东新区"})
        first = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        second = services.create_work_order(None, {"kind": "install", "customer_id": ids["customer"],
                                                   "property_id": far.id}, dispatch_now=False)
        third = services.create_work_order(None, {"kind": "consultation", "customer_id": ids["customer"],
                                                  "property_id": nowhere.id}, dispatch_now=False)
        for o in (second, third):
            services.assign(None, o, ids["tech"])
        from storecrm.sdk import User
        services.accept(get_scoped(User, ids["tech"]), second)  # on the way: comes before the merely assigned
        day = services.day_route(ids["tech"])
        assert [s.order.id for s in day["stops"]] == [second.id, first.id, third.id]
        legs = [(s.metres, s.minutes) for s in day["stops"]]
        assert legs[0] == (11119, 27) and legs[1] == (7784, 19) and legs[2] == (None, None)  # 25 km/h default
        assert day["total_km"] == "18.9" and day["total_minutes"] == 46
        amap = urlparse(day["stops"][0].links["amap"])
        assert amap.netloc == "uri.amap.com" and parse_qs(amap.query)["to"] == ["121.500000,31.300000,别墅"]
        baidu = parse_qs(urlparse(day["stops"][0].links["baidu"]).query)
        assert baidu["destination"] == ["latlng:31.300000,121.500000|name:别墅"] and baidu["coord_type"] == ["wgs84"]
        assert "keyword" in day["stops"][2].links["amap"]  # no coordinates: search the address
        assert 10 <= day["stops"][0].y < day["stops"][1].y <= 90  # north up on the sketch
    tech = login(alpha, "technician")
    page = tech.get("/t/alpha/smart-home/engineer/day")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and body.count('data-testid="day-stop"') == 3
    assert "api.map.baidu.com/direction" in body and "uri.amap.com/navigation" in body
    assert "11.1 km, about 27 min" in body


def test_a_defective_part_goes_back_to_the_warehouse_and_the_supplier(app, make_tenant, in_tenant, login,
                                                                      system_db):
    from storecrm.sdk import User, create_stock_location, get_scoped
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        warehouse = create_stock_location(None, {"store_id": alpha.stores[0], "kind": "warehouse", "name": "中心仓"})
        tech = get_scoped(User, ids["tech"])
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        services.check_in(tech, order, {})
        warehouse_id, order_id, van_id = warehouse.id, order.id, ids["vans"][ids["tech"]]
    tech_b, manager = login(alpha, "technician"), login(alpha, "manager")
    job = f"/t/alpha/smart-home/engineer/{order_id}"
    tech_b.get(job)
    assert tech_b.post(f"{job}/return-part", {"item_id": "", "serial": "X"}).status_code == 422
    assert tech_b.post(f"{job}/return-part", {"item_id": ids["module"], "serial": "FP-OLD-9",
                                              "reason": "指纹模组进水"}).status_code == 302
    assert tech_b.get("/t/alpha/smart-home/returns/").status_code == 403  # the list is the store's, not the van's
    listing = manager.get("/t/alpha/smart-home/returns/?state=pending")
    assert listing.status_code == 200 and "FP-OLD-9" in listing.get_data(as_text=True)
    with system_db.connect() as conn:
        return_id = conn.execute(text("SELECT id FROM smart_home_part_returns WHERE tenant_id = :t"),
                                 {"t": alpha.id}).scalar()
    step = f"/t/alpha/smart-home/returns/{return_id}"
    manager.post(step, {"to": "returned", "supplier": "厂家"})  # not yet received: refused
    manager.post(step, {"to": "received", "location_id": van_id})  # a van is not a warehouse: refused
    assert manager.post(step, {"to": "received", "location_id": warehouse_id}).status_code == 302
    manager.post(step, {"to": "returned", "supplier": ""})  # whom to: required
    assert manager.post(step, {"to": "returned", "supplier": "鹿客科技"}).status_code == 302
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT state, location_id, supplier, received_at IS NOT NULL AS r, "
                                "closed_at IS NOT NULL AS c FROM smart_home_part_returns WHERE tenant_id = :t"),
                           {"t": alpha.id}).one()
    assert (row.state, row.location_id, row.supplier, row.r, row.c) == ("returned", warehouse_id, "鹿客科技", True,
                                                                        True)
    done = manager.get("/t/alpha/smart-home/returns/?state=returned").get_data(as_text=True)
    assert "鹿客科技" in done


def test_a_van_falling_to_its_minimum_raises_one_request_that_the_manager_approves_in_one_click(
        app, make_tenant, in_tenant, login, system_db):
    from storecrm.sdk import (StockLocation, User, create_stock_location, get_catalog_item, get_scoped,
                              receive_stock, set_stock_reorder_level)
    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import WorkOrder

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    van_location = ids["vans"][ids["tech"]]
    with in_tenant(alpha):
        module = get_catalog_item(ids["module"])
        warehouse = create_stock_location(None, {"store_id": alpha.stores[0], "kind": "warehouse", "name": "中心仓"})
        receive_stock(module, warehouse, 20, unit_cost=Decimal("90"))
        set_stock_reorder_level(module, get_scoped(StockLocation, van_location), 2)  # the van: 5 on board, min 2
        tech = get_scoped(User, ids["tech"])
        orders = []
        for _n in range(2):
            order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                      "asset_id": ids["device"], "fault_type": "lock"})
            services.check_in(tech, order, {})
            orders.append(order.id)
        warehouse_id = warehouse.id
    with in_tenant(alpha):
        tech = get_scoped(User, ids["tech"])
        services.use_part(tech, get_scoped(WorkOrder, orders[0]), {"item_id": ids["module"], "quantity": Decimal("3")})
    with in_tenant(alpha):  # 2 left: crossed once; a further part below the line raises nothing new
        tech = get_scoped(User, ids["tech"])
        services.use_part(tech, get_scoped(WorkOrder, orders[1]), {"item_id": ids["module"], "quantity": Decimal("1")})

    def rows(sql):
        with system_db.connect() as conn:
            return conn.execute(text(sql), {"t": alpha.id}).all()

    requests = rows("SELECT id, reason, quantity, state FROM smart_home_transfer_requests WHERE tenant_id = :t")
    assert [(r.reason, r.quantity, r.state) for r in requests] == [("reorder", Decimal("2"), "open")]  # back to 2 × 2
    notes = rows("SELECT count(*) FROM notifications WHERE tenant_id = :t AND url LIKE '%/smart-home/transfers/'")
    assert notes[0][0] == 1
    # the engineer asks for a part the van lacks: a transfer request, not a task
    tech_b = login(alpha, "technician")
    job = f"/t/alpha/smart-home/engineer/{orders[1]}"
    tech_b.get(job)
    assert tech_b.post(f"{job}/request-part", {"item_id": ids["module"], "quantity": "3"}).status_code == 302
    manager = login(alpha, "manager")
    page = manager.get("/t/alpha/smart-home/transfers/")
    assert page.status_code == 200 and page.get_data(as_text=True).count('data-testid="transfer-row"') == 2
    first = requests[0].id
    assert manager.post(f"/t/alpha/smart-home/transfers/{first}/approve", {"source_location_id": van_location})
    assert manager.post(f"/t/alpha/smart-home/transfers/{first}/approve", {"source_location_id": warehouse_id})
    assert manager.post(f"/t/alpha/smart-home/transfers/{first}/approve", {"source_location_id": warehouse_id})
    levels = dict(rows("SELECT location_id, on_hand FROM stock_levels WHERE tenant_id = :t"))
    assert levels[van_location] == Decimal("3") and levels[warehouse_id] == Decimal("18")  # loaded once
    approved = rows("SELECT state, transfer_id IS NOT NULL FROM smart_home_transfer_requests WHERE id = :i "
                    "AND tenant_id = :t".replace(":i", str(first)))
    assert approved == [("approved", True)]
    assert rows("SELECT count(*) FROM stock_transfers WHERE tenant_id = :t AND state = 'received'")[0][0] == 1


def test_a_contract_promises_a_response_and_its_visits_move_and_show_as_overdue(app, make_tenant, in_tenant, login,
                                                                                system_db):
    from datetime import timedelta

    from storecrm.sdk import User, get_scoped, tenant_today, utcnow
    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import ContractVisit, WorkOrder

    alpha = make_tenant("alpha", locale="zh_CN")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        today = tenant_today()
        contract = services.create_contract(None, {
            "customer_id": ids["customer"], "starts_on": today - timedelta(days=40),
            "ends_on": today + timedelta(days=300), "frequency": "monthly", "price": Decimal("2400"),
            "response_hours": 4, "property_ids": [ids["home"]], "asset_ids": []})
        # a call-out on a covered home carries the promise; one reported 5 hours ago and not accepted broke it
        late = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                 "property_id": ids["home"], "fault_type": "network"},
                                          now=utcnow() - timedelta(hours=5), dispatch_now=False)
        assert late.respond_by == late.reported_at + timedelta(hours=4)
        assert services.sla_state(late) == "breached"
        quick = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "property_id": ids["home"], "fault_type": "lock"})
        services.accept(get_scoped(User, ids["tech"]), quick)
        assert services.sla_state(quick) == "met"
        # planning from 40 days ago: the visit 40 days ago and 10 days ago are overdue, their orders still open
        made = services.plan_contract_visits(today - timedelta(days=40), months_ahead=3)
        overdue = services.overdue_visits()
        assert [v.due_on for v, _o, _n in overdue] == [v.due_on for v in made if v.due_on < today]
        first = overdue[0][0]
        # moved to the day agreed with the customer: no longer overdue, its work order moves, nothing planned twice
        services.move_visit(None, first, {"day": today + timedelta(days=2)})
        assert first.moved_to == today + timedelta(days=2) and first.due_on < today
        assert get_scoped(WorkOrder, first.work_order_id).due_on == today + timedelta(days=2)
        assert first.id not in [v.id for v, _o, _n in services.overdue_visits()]
        assert services.plan_contract_visits(today - timedelta(days=40), months_ahead=3) == []
        with pytest.raises(Exception):
            services.move_visit(None, first, {"day": today - timedelta(days=1)})
        ids.update(contract=contract.id, visit=overdue[-1][0].id, late=late.id)
    manager = login(alpha, "manager")
    page = manager.get(f"/t/alpha/smart-home/contracts/{ids['contract']}").get_data(as_text=True)
    assert "逾期" in page and 'data-testid="move-visit"' in page
    bad = manager.post(f"/t/alpha/smart-home/contracts/visits/{ids['visit']}/move", {"day": "昨天"})
    assert bad.status_code == 302
    assert manager.post(f"/t/alpha/smart-home/contracts/visits/{ids['visit']}/move",
                        {"day": (today + timedelta(days=3)).isoformat()}).status_code == 302
    with system_db.connect() as conn:
        moved = conn.execute(text("SELECT count(*) FROM smart_home_contract_visits WHERE tenant_id = :t "
                                  "AND moved_to IS NOT NULL"), {"t": alpha.id}).scalar()
    assert moved == 2
    assert "承诺响应超时" in manager.get("/t/alpha/smart-home/").get_data(as_text=True)
    assert "承诺响应超时" in manager.get(f"/t/alpha/smart-home/orders/{ids['late']}").get_data(as_text=True)


def test_lines_are_covered_or_billable_and_the_customer_signs_and_pays_the_rest_on_site(app, make_tenant, in_tenant,
                                                                                       login, system_db):
    import uuid

    from smart_home_testkit import PNG
    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha", locale="zh_CN")
    ids = installer(alpha, in_tenant)  # the lock is under warranty until 2028
    with in_tenant(alpha):
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        services.check_in(get_scoped(User, ids["tech"]), order, {})
        order_id = order.id
    tech = login(alpha, "technician")
    job = f"/t/alpha/smart-home/engineer/{order_id}"
    tech.get(job)
    assert tech.post(f"{job}/parts", {"item_id": ids["module"], "quantity": "1"}).status_code == 302   # warranty
    assert tech.post(f"{job}/parts", {"item_id": ids["module"], "quantity": "2", "billable": "1"}).status_code == 302
    quote_page = tech.get(f"{job}/quote")
    body = quote_page.get_data(as_text=True)
    assert quote_page.status_code == 200 and 'data-coverage="warranty"' in body and 'data-coverage="billable"' in body
    assert "保修期内" in body and "¥360.00" in body  # 2 × 180 billable
    unsigned = tech.post(f"{job}/sign-quote", {"labour_amount": "80", "signed_name": "王女士"})
    assert unsigned.status_code == 422 and "签" in unsigned.get_data(as_text=True)
    bad = tech.post(f"{job}/sign-quote", {"labour_amount": "-5", "signed_name": "王女士", "signature": PNG})
    assert bad.status_code == 422
    signed = tech.post(f"{job}/sign-quote", {"labour_amount": "80", "signed_name": "王女士", "signature": PNG,
                                             "idempotency_key": str(uuid.uuid4())})
    assert signed.status_code == 302 and signed.headers["Location"].endswith(f"/engineer/{order_id}/quote")
    with system_db.connect() as conn:
        sale = conn.execute(text("SELECT d.id, d.state, d.total, d.source_type FROM sales_documents d JOIN "
                                 "smart_home_work_orders w ON w.tenant_id = d.tenant_id AND w.sales_order_id = d.id "
                                 "WHERE d.tenant_id = :t"), {"t": alpha.id}).one()
        lines = conn.execute(text("SELECT description, quantity, unit_price, item_id FROM sales_lines "
                                  "WHERE tenant_id = :t AND document_id = :d ORDER BY id"),
                             {"t": alpha.id, "d": sale.id}).all()
    assert sale.state == "confirmed" and sale.total == Decimal("440.00") and sale.source_type == "smart_home_work_order"
    assert [(l.description, l.quantity, l.unit_price, l.item_id) for l in lines] == [
        ("指纹识别模组", Decimal("2"), Decimal("180.00"), None), ("人工费", Decimal("1"), Decimal("80.00"), None)]
    again = tech.post(f"{job}/sign-quote", {"labour_amount": "80", "signed_name": "王女士", "signature": PNG})
    assert again.status_code == 422  # signed once
    key = str(uuid.uuid4())
    too_much = tech.post(f"{job}/pay", {"method": "wechat_pay", "amount": "500"})
    assert too_much.status_code == 422
    for _n in range(2):  # the same tap sent twice: one payment
        assert tech.post(f"{job}/pay", {"method": "wechat_pay", "amount": "440.00",
                                        "idempotency_key": key}).status_code == 302
    with system_db.connect() as conn:
        paid = conn.execute(text("SELECT count(*), sum(amount) FROM payments WHERE tenant_id = :t"),
                            {"t": alpha.id}).one()
        van = conn.execute(text("SELECT on_hand FROM stock_levels WHERE tenant_id = :t AND location_id = :l"),
                           {"t": alpha.id, "l": ids["vans"][ids["tech"]]}).scalar()
    assert tuple(paid) == (1, Decimal("440.00"))
    assert van == Decimal("2")  # 5 − 3 issued from the van; the order reserved nothing more
    assert 'data-testid="paid-in-full"' in tech.get(f"{job}/quote").get_data(as_text=True)


def test_the_day_page_and_the_lists_run_the_same_queries_for_two_stops_or_eight(app, make_tenant, in_tenant,
                                                                                 login):
    from sqlalchemy import event

    from storecrm.sdk import User, db, get_scoped
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    tech, manager = login(alpha, "technician"), login(alpha, "manager")

    def add(n):
        with in_tenant(alpha):
            engineer = get_scoped(User, ids["tech"])
            for _n in range(n):
                order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                          "asset_id": ids["device"], "fault_type": "lock"})
                services.check_in(engineer, order, {})
                services.record_part_return(engineer, order, {"item_id": ids["module"], "quantity": 1})
                services.request_part(engineer, order, {"item_id": ids["module"], "quantity": 1})

    def queries(client, url):
        with app.app_context():
            engine = db.engine
        seen = []

        def before(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(seen)

    urls = [(tech, "/t/alpha/smart-home/engineer/day"), (manager, "/t/alpha/smart-home/returns/"),
            (manager, "/t/alpha/smart-home/transfers/")]
    add(2)
    few = [queries(client, url) for client, url in urls]
    add(6)
    many = [queries(client, url) for client, url in urls]
    assert few == many, (few, many)


def test_a_planned_visit_goes_to_a_district_team_and_one_engineer_takes_it(app, make_tenant, in_tenant, login,
                                                                          system_db):
    from datetime import timedelta

    from storecrm.sdk import tenant_today
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha", locale="zh_CN")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        today = tenant_today()
        contract = services.create_contract(None, {
            "customer_id": ids["customer"], "starts_on": today + timedelta(days=3),
            "ends_on": today + timedelta(days=300), "frequency": "quarterly", "price": Decimal("900"),
            "property_ids": [ids["home"]]})
        visit = services.plan_contract_visits(today, months_ahead=1)[0]
        assert services.team_regions() == ["徐汇区", "浦东新区"]
        contract_id, order_id = contract.id, visit.work_order_id
    manager = login(alpha, "manager")
    page = manager.get(f"/t/alpha/smart-home/contracts/{contract_id}").get_data(as_text=True)
    assert "浦东新区团队" in page
    manager.post(f"/t/alpha/smart-home/orders/{order_id}/team", {"team_region": "火星区"})  # not a team: refused
    assert manager.post(f"/t/alpha/smart-home/orders/{order_id}/team",
                        {"team_region": "浦东新区", "back": f"/t/alpha/smart-home/contracts/{contract_id}"}
                        ).status_code == 302
    with system_db.connect() as conn:
        state = conn.execute(text("SELECT state, team_region, engineer_id FROM smart_home_work_orders "
                                  "WHERE tenant_id = :t AND id = :o"), {"t": alpha.id, "o": order_id}).one()
        told = conn.execute(text("SELECT user_id FROM notifications WHERE tenant_id = :t AND title LIKE :n"),
                            {"t": alpha.id, "n": "%团队%"}).scalars().all()
    assert tuple(state) == ("pending", "浦东新区", None) and told == [ids["tech"]]
    tech = login(alpha, "technician")
    jobs = tech.get("/t/alpha/smart-home/engineer/").get_data(as_text=True)
    assert jobs.count('data-testid="team-job"') == 1
    with in_tenant(alpha):  # the 徐汇区 engineer cannot take the 浦东新区 team's job
        from storecrm.sdk import User, get_scoped
        from storecrm.plugins.smart_home.models import WorkOrder

        with pytest.raises(Exception):
            services.take_from_team(get_scoped(User, ids["other"]), get_scoped(WorkOrder, order_id))
    taken = tech.post(f"/t/alpha/smart-home/engineer/{order_id}/take")
    assert taken.status_code == 302 and taken.headers["Location"].endswith(f"/engineer/{order_id}")
    again = tech.post(f"/t/alpha/smart-home/engineer/{order_id}/take")
    assert again.status_code == 302 and again.headers["Location"].endswith("/engineer/")
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT state, engineer_id FROM smart_home_work_orders WHERE tenant_id = :t "
                                "AND id = :o"), {"t": alpha.id, "o": order_id}).one()
    assert tuple(row) == ("assigned", ids["tech"])
    assert 'data-testid="team-job"' not in tech.get("/t/alpha/smart-home/engineer/").get_data(as_text=True)
