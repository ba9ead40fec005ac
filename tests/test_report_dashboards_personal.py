"""Personal dashboards: a manager builds their own (from scratch or a copy of their role's), adds, removes and
reorders KPI and report cards, makes it their home; nobody else in the tenant sees or changes it; shared dashboards
stay for those who manage reports. The home workbench shows a board's report cards too, and a report card on a
dashboard is one card, not a card inside a card."""
from __future__ import annotations

import re

from sqlalchemy import select

from storecrm.reports import saved as saved_reports
from storecrm.reports import services
from storecrm.reports.models import Dashboard
from storecrm.users.models import User


def _role_board_with_a_report(in_tenant, world):
    with in_tenant(world) as session:
        owner = session.get(User, (world.id, world.users["owner"]))
        report = saved_reports.save_report(owner, None, "客户按门店", {"entity": "customers", "columns": ["name"]})
        board = services.save_dashboard(owner, None, {"name": "店长看板", "role_id": world.roles["manager"], "items": [
            {"kind": "kpi", "code": "customers.new", "chart": "number"},
            {"kind": "report", "code": str(report.id)}]})
        return board.id, report.id


def test_a_manager_builds_a_personal_dashboard_and_makes_it_home(two_tenants, in_tenant, login):
    alpha, _ = two_tenants
    role_board, report_id = _role_board_with_a_report(in_tenant, alpha)
    manager = login(alpha, "manager")
    # the role's board on the home page: its KPI and its report card
    home = manager.get("/t/alpha/").get_data(as_text=True)
    assert "店长看板" in home and f'data-report="{report_id}"' in home
    # a copy of the role's board, then cards added, moved and removed
    copied = manager.post("/t/alpha/reports/dashboards/copy", {})
    assert copied.status_code == 302
    mine_id = int(re.search(r"/dashboards/(\d+)/compose", copied.headers["Location"]).group(1))
    compose = f"/t/alpha/reports/dashboards/{mine_id}/compose"
    assert manager.post(compose, {"action": "add", "code": "kpi:tasks.overdue", "chart": "number"}).status_code == 302
    assert manager.post(compose, {"action": "up", "index": "2"}).status_code == 302
    assert manager.post(compose, {"action": "remove", "index": "0"}).status_code == 302
    with in_tenant(alpha) as session:
        mine = session.get(Dashboard, (alpha.id, mine_id))
        assert mine.owner_id == alpha.users["manager"] and mine.role_id is None and not mine.home
        assert [(i["kind"], i["code"]) for i in mine.items] == [("kpi", "tasks.overdue"), ("report", str(report_id))]
    # the manager cannot change the shared role board (they do not manage reports) …
    assert manager.post(f"/t/alpha/reports/dashboards/{role_board}/compose",
                        {"action": "remove", "index": "0"}).status_code == 403
    # … but makes their own one their home
    assert manager.post(f"/t/alpha/reports/dashboards/{mine_id}/home", {"home": "1"}).status_code == 302
    home = manager.get("/t/alpha/").get_data(as_text=True)
    assert "My copy of" in home and 'data-testid="workbench"' in home
    # from scratch: a second personal one; making it home moves the home flag
    new = manager.post("/t/alpha/reports/dashboards/new", {"name": "我的销售"})
    assert new.status_code == 302
    with in_tenant(alpha) as session:
        second = session.scalar(select(Dashboard).where(Dashboard.name == "我的销售"))
        assert second.owner_id == alpha.users["manager"] and second.items == []
    manager.post(f"/t/alpha/reports/dashboards/{second.id}/home", {"home": "1"})
    with in_tenant(alpha) as session:
        homes = session.scalars(select(Dashboard.id).where(Dashboard.home.is_(True))).all()
        assert homes == [second.id]
    # back to the role's
    manager.post(f"/t/alpha/reports/dashboards/{second.id}/home", {"home": "0"})
    assert "店长看板" in manager.get("/t/alpha/").get_data(as_text=True)


def test_another_user_of_the_same_tenant_cannot_see_or_change_my_personal_dashboard(two_tenants, in_tenant, login,
                                                                                     api_token, app):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        manager = session.get(User, (alpha.id, alpha.users["manager"]))
        mine = services.save_dashboard(manager, None, {"name": "王店长的看板", "personal": True, "items": [
            {"kind": "kpi", "code": "customers.new", "chart": "number"}]})
    for role in ("advisor", "owner"):  # not even the owner: it is personal
        other = login(alpha, role)
        assert "王店长的看板" not in other.get("/t/alpha/reports/").get_data(as_text=True)
        assert other.get(f"/t/alpha/reports/dashboards/{mine.id}").status_code == 404
        assert other.get(f"/t/alpha/reports/dashboards/{mine.id}/compose").status_code == 404
        assert other.post(f"/t/alpha/reports/dashboards/{mine.id}/compose",
                          {"action": "remove", "index": "0"}).status_code == 404
        assert other.post(f"/t/alpha/reports/dashboards/{mine.id}/home", {"home": "1"}).status_code == 404
        assert other.post(f"/t/alpha/reports/dashboards/{mine.id}/delete", {}).status_code == 404
        client, headers = app.test_client(), api_token(alpha, role)
        listed = client.get("/api/v1/dashboards", headers=headers).get_json()["items"]
        assert mine.id not in [d["id"] for d in listed]
        assert client.get(f"/api/v1/dashboards/{mine.id}", headers=headers).status_code == 404
        assert client.put(f"/api/v1/dashboards/{mine.id}", headers=headers,
                          json={"name": "HACKED", "items": []}).status_code == 404
        assert client.delete(f"/api/v1/dashboards/{mine.id}", headers=headers).status_code == 404
    with in_tenant(alpha) as session:
        board = session.get(Dashboard, (alpha.id, mine.id))
        assert board.name == "王店长的看板" and len(board.items) == 1 and not board.home
    # the owner of it sees it
    assert "王店长的看板" in login(alpha, "manager").get(f"/t/alpha/reports/dashboards/{mine.id}").get_data(
        as_text=True)


def test_personal_dashboards_through_the_api(two_tenants, api_token, app, in_tenant):
    alpha, _ = two_tenants
    role_board, report_id = _role_board_with_a_report(in_tenant, alpha)
    client, headers = app.test_client(), api_token(alpha, "advisor")
    # an advisor may not create a shared dashboard, but a personal one
    assert client.post("/api/v1/dashboards", headers=headers, json={"name": "x", "items": []}).status_code == 403
    created = client.post("/api/v1/dashboards", headers=headers, json={
        "name": "我的", "personal": True, "home": True, "items": [{"kind": "kpi", "code": "customers.new"}]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["personal"] and body["home"] and body["role_id"] is None
    # a personal one is never a role's home
    assert client.post("/api/v1/dashboards", headers=headers, json={
        "name": "y", "personal": True, "role_id": alpha.roles["advisor"]}).status_code == 422
    listed = client.get("/api/v1/dashboards", headers=headers).get_json()["items"]
    assert {d["id"] for d in listed} == {role_board, body["id"]}
    # reorder by sending the list; a report card too
    put = client.put(f"/api/v1/dashboards/{body['id']}", headers=headers, json={"name": "我的", "items": [
        {"kind": "report", "code": str(report_id)}, {"kind": "kpi", "code": "customers.new"}], "home": False})
    assert put.status_code == 200 and [i["kind"] for i in put.get_json()["items"]] == ["report", "kpi"]
    assert not put.get_json()["home"]
    # the shared one stays the managers' to change
    assert client.put(f"/api/v1/dashboards/{role_board}", headers=headers,
                      json={"name": "HACKED", "items": []}).status_code == 403
    assert client.delete(f"/api/v1/dashboards/{body['id']}", headers=headers).status_code == 204


def test_a_report_card_is_one_card(two_tenants, in_tenant, login):
    alpha, _ = two_tenants
    role_board, report_id = _role_board_with_a_report(in_tenant, alpha)
    page = login(alpha, "owner").get(f"/t/alpha/reports/dashboards/{role_board}").get_data(as_text=True)
    card = page[page.index(f'data-report="{report_id}"'):]
    card = card[:card.index("</div></div>")]
    assert "card card-body" not in card
