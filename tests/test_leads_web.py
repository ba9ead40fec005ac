"""Leads through their surfaces: the public form (bad input, no reveal of known mobiles, embeddable), the signed
inbound webhook (good, forged, stale, replayed), the intake API with Idempotency-Key and keyset paging, and the
staff pages."""
from __future__ import annotations

import json
import time
from decimal import Decimal

from sqlalchemy import text

from storecrm.leads import setup
from storecrm.leads.inbound import sign
from storecrm.leads.tokens import form_token


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _channel(in_tenant, world, **overrides):
    with in_tenant(world):
        channel = setup.save_channel(None, {"name": "车展", "kind": "show", "cost_per_month": Decimal("0"),
                                            "first_contact_minutes": 5, "store_id": world.stores[0], "active": True,
                                            **overrides})
        return channel.id, form_token(channel.id), channel.secret


def test_public_form_refuses_bad_input_and_answers_known_and_new_mobiles_alike(two_tenants, in_tenant, app,
                                                                               system_db):
    alpha, beta = two_tenants
    channel_id, token, _secret = _channel(in_tenant, alpha)
    client = app.test_client()
    url = f"/t/alpha/lead/form/{token}"
    page = client.get(url)
    assert page.status_code == 200
    assert "frame-ancestors *" in page.headers["Content-Security-Policy"] and "X-Frame-Options" not in page.headers
    for form, field in (({"name": "王", "mobile": "", "consent": "1"}, "mobile"),
                        ({"name": "王", "mobile": "12345", "consent": "1"}, "mobile"),
                        ({"name": "", "mobile": "13900001111", "consent": "1"}, "name"),
                        ({"name": "王", "mobile": "13900001111"}, "consent"),
                        ({"name": "王" * 200, "mobile": "13900001111", "consent": "1"}, "name")):
        resp = client.post(url, data=form)
        assert resp.status_code == 422, (form, resp.status_code)
        assert 'is-invalid' in resp.get_data(as_text=True)
    assert client.post(url, data={"name": "bot", "mobile": "13900001111", "consent": "1",
                                  "website": "http://spam"}).status_code == 400
    assert _rows(system_db, "SELECT count(*) FROM leads") == [(0,)]
    first = client.post(url, data={"name": "王先生", "mobile": "139 0000 1111", "consent": "1", "interest": "Model Y"})
    known = client.post(url, data={"name": "王先生", "mobile": "13900001111", "consent": "1"})
    assert first.status_code == known.status_code == 302
    assert first.headers["Location"] == known.headers["Location"]
    assert _rows(system_db, "SELECT tenant_id, mobile, enquiries, consent_at IS NOT NULL FROM leads") == \
        [(alpha.id, "+8613900001111", 2, True)]
    # a link of tenant alpha opens nothing in beta
    assert client.get(f"/t/beta/lead/form/{token}").status_code == 404
    assert client.get(f"/t/alpha/lead/form/{token}x").status_code == 404


def _post(client, channel_id, secret, body: dict, delivery="d-1", stamp=None, tenant="alpha", signature=None):
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = stamp or int(time.time())
    return client.post(f"/t/{tenant}/lead/inbound/{channel_id}", data=raw, content_type="application/json",
                       headers={"X-StoreCRM-Timestamp": str(stamp), "X-StoreCRM-Delivery": delivery,
                                "X-StoreCRM-Signature": signature or sign(secret, raw, stamp)})


def test_signed_webhook_good_forged_stale_and_replayed(two_tenants, in_tenant, app, system_db):
    alpha, beta = two_tenants
    channel_id, _token, secret = _channel(in_tenant, alpha, name="汽车之家", kind="platform")
    client = app.test_client()
    body = {"name": "李女士", "mobile": "13800002222", "interest": "Model 3"}
    forged = _post(client, channel_id, "lcsec_wrong", body)
    assert forged.status_code == 401 and forged.mimetype == "application/problem+json"
    stale = _post(client, channel_id, secret, body, stamp=int(time.time()) - 3600)
    assert stale.status_code == 401
    tampered = _post(client, channel_id, secret, body, signature=sign(secret, b"{}", int(time.time())))
    assert tampered.status_code == 401
    assert _rows(system_db, "SELECT count(*) FROM leads") == [(0,)]
    assert _rows(system_db, "SELECT count(*) FROM lead_deliveries") == [(0,)]
    good = _post(client, channel_id, secret, body)
    assert good.status_code == 201 and good.get_json()["created"] is True
    replayed = _post(client, channel_id, secret, body)
    assert replayed.status_code == 409 and replayed.mimetype == "application/problem+json"
    assert _rows(system_db, "SELECT enquiries FROM leads") == [(1,)]
    bad = _post(client, channel_id, secret, {"name": "x", "mobile": "nope"}, delivery="d-2")
    assert bad.status_code == 422 and "mobile" in bad.get_json()["errors"]
    assert _rows(system_db, "SELECT delivery_id FROM lead_deliveries") == [("d-1",)]  # the refused one left nothing
    # beta's channel ids and secrets mean nothing in alpha, and the other way round
    assert _post(client, channel_id, secret, body, delivery="d-3", tenant="beta").status_code == 404


def test_intake_api_idempotency_keyset_status_and_follow_ups(two_tenants, in_tenant, app, api_token, system_db):
    alpha, _beta = two_tenants
    channel_id, _token, _secret = _channel(in_tenant, alpha, name="官网", kind="web_form")
    headers = {**api_token(alpha, "owner"), "Idempotency-Key": "lead-1"}
    client = app.test_client()
    body = {"channel_id": channel_id, "name": "赵先生", "mobile": "13700003333", "interest": "X5"}
    first = client.post("/api/v1/leads", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/leads", json=body, headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert _rows(system_db, "SELECT count(*), max(enquiries) FROM leads") == [(1, 1)]
    plain = api_token(alpha, "owner")
    bad = client.post("/api/v1/leads", json={**body, "mobile": "x"}, headers=plain)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    for n in range(4):
        client.post("/api/v1/leads", json={**body, "mobile": f"1370000400{n}"}, headers=plain)
    page1 = client.get("/api/v1/leads?per_page=2", headers=plain).get_json()
    page2 = client.get(f"/api/v1/leads?per_page=2&after_id={page1['next_after_id']}", headers=plain).get_json()
    ids = [i["id"] for i in page1["items"] + page2["items"]]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True) and page1["total"] == 5
    lead_id = first.get_json()["id"]
    lose = client.post(f"/api/v1/leads/{lead_id}/status", json={"action": "lose"}, headers=plain)
    assert lose.status_code == 422 and "lost_reason" in lose.get_json()["errors"]
    follow = client.post(f"/api/v1/leads/{lead_id}/follow-ups", headers=plain,
                         json={"method": "call", "summary": "约了周六", "next_step": "试驾",
                               "due_at": "2030-01-05T10:00:00+08:00"})
    assert follow.status_code == 201, follow.get_json()
    lead = client.get(f"/api/v1/leads/{lead_id}", headers=plain).get_json()
    assert lead["status"] == "contacted" and lead["first_contacted_at"]
    assert _rows(system_db, "SELECT title, related_type FROM tasks WHERE related_id = :l", l=lead_id) == \
        [("试驾", "lead")]
    converted = client.post(f"/api/v1/leads/{lead_id}/convert", headers=plain)
    assert converted.status_code == 200 and converted.get_json()["lead"]["status"] == "won"
    funnel = client.get("/api/v1/leads/funnel?start=2020-01-01&end=2020-12-31", headers=plain)
    assert funnel.status_code == 200 and funnel.get_json() == []
    created = client.post("/api/v1/lead-channels", json={"name": "抖音"}, headers=plain)
    assert created.status_code == 201 and created.get_json()["secret"].startswith("lcsec_")
    listed = client.get("/api/v1/lead-channels", headers=plain).get_json()
    assert all("secret" not in c for c in listed)


def test_staff_pages_render_for_owner_and_advisor(two_tenants, in_tenant, login, system_db):
    alpha, _beta = two_tenants
    channel_id, _token, _secret = _channel(in_tenant, alpha)
    owner = login(alpha, "owner")
    resp = owner.post("/t/alpha/leads/new", {"channel_id": str(channel_id), "name": "钱先生", "mobile": "13600005555",
                                             "interest": "音响升级", "consent": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    lead_id = _rows(system_db, "SELECT id FROM leads")[0][0]
    bad = owner.post("/t/alpha/leads/new", {"channel_id": str(channel_id), "name": "", "mobile": "1"})
    assert bad.status_code == 422
    for url in ("/t/alpha/leads/mine", "/t/alpha/leads/", "/t/alpha/leads/board", f"/t/alpha/leads/{lead_id}",
                "/t/alpha/leads/channels", f"/t/alpha/leads/channels/{channel_id}", "/t/alpha/leads/rules",
                "/t/alpha/leads/funnel", "/t/alpha/leads/funnel?by=owner", f"/t/alpha/leads/channels/{channel_id}/qr.svg"):
        page = owner.get(url)
        assert page.status_code == 200, (url, page.status_code)
    assert "<svg" in owner.get(f"/t/alpha/leads/channels/{channel_id}").get_data(as_text=True)
    assert owner.post(f"/t/alpha/leads/{lead_id}/status", {"action": "lose"}).status_code == 302
    assert _rows(system_db, "SELECT status FROM leads") == [("new",)]  # refused: no reason
    owner.post(f"/t/alpha/leads/{lead_id}/follow-up", {"method": "call", "summary": "打过电话"})
    assert _rows(system_db, "SELECT status FROM leads") == [("contacted",)]
    regenerated = owner.post(f"/t/alpha/leads/channels/{channel_id}/secret", {})
    assert 'data-testid="new-secret"' in regenerated.get_data(as_text=True)
    rule = owner.post("/t/alpha/leads/rules", {"name": "店一", "position": "1", "strategy": "least_loaded",
                                                "store_id": str(alpha.stores[0]), "active": "1"})
    assert rule.status_code == 302
    bad_rule = owner.post("/t/alpha/leads/rules", {"name": "x", "strategy": "weird", "active": "1"})
    assert bad_rule.status_code == 422
    advisor = login(alpha, "advisor")
    assert advisor.get("/t/alpha/leads/mine").status_code == 200
    assert advisor.get("/t/alpha/leads/channels").status_code == 403
    panel = owner.get(f"/t/alpha/customers/{alpha.customers[0]}")
    assert panel.status_code == 200 and 'data-testid="leads-panel"' in panel.get_data(as_text=True)


def test_show_sign_up_sheet_imports_through_the_wizard(two_tenants, in_tenant, login, system_db):
    import io

    from openpyxl import Workbook

    from tests.test_import_mappings import _guessed
    from tests.test_imports import _run_worker

    alpha, _beta = two_tenants
    _channel(in_tenant, alpha, name="上海车展")
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "渠道", "意向车型"])
    for row in (["王先生", "139 0000 7001", "上海车展", "Model Y"], ["李女士", "13900007002", "上海车展", "Model 3"],
                ["王先生", "13900007001", "上海车展", "Model Y 试驾"],      # the same person again: one lead
                ["赵先生", "13900007003", "广州车展", "X5"],                # no such channel
                ["钱先生", "12345", "上海车展", "X3"]):                     # not a mobile
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    owner = login(alpha, "owner")
    resp = owner.client.post("/t/alpha/imports/", data={"csrf_token": owner.token, "kind": "leads",
                                                        "file": (io.BytesIO(data.getvalue()), "车展登记.xlsx")},
                             content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    page = owner.get(resp.headers["Location"]).get_data(as_text=True)
    assert _guessed(page) == {"col_0": "name", "col_1": "mobile", "col_2": "channel", "col_3": "interest"}
    started = owner.post(resp.headers["Location"], {**_guessed(page), "start": "1"})
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]
    _run_worker()
    assert _rows(system_db, "SELECT mobile, enquiries, source FROM leads ORDER BY mobile") == \
        [("+8613900007001", 2, "import"), ("+8613900007002", 1, "import")]
    assert _rows(system_db, "SELECT count(*) FROM import_row_errors") == [(2,)]


def test_lead_pages_run_a_fixed_number_of_queries(two_tenants, in_tenant, login, app):
    from storecrm.leads import services
    from storecrm.leads.models import LeadChannel
    from tests.test_query_counts import count_queries

    alpha, _beta = two_tenants
    channel_id, _token, _secret = _channel(in_tenant, alpha)

    def add(n, start):
        with in_tenant(alpha) as session:
            channel = session.get(LeadChannel, (alpha.id, channel_id))
            for i in range(n):
                lead, _created = services.capture(channel, {"name": f"L{start + i}", "mobile": f"+86139000{start + i:05d}"})
                lead.owner_id = alpha.users["owner"]

    owner = login(alpha, "owner")
    add(2, 0)
    counts = {}
    for path in ("/t/alpha/leads/mine", "/t/alpha/leads/", "/t/alpha/leads/board"):
        with count_queries(app) as few:
            assert owner.get(path).status_code == 200
        counts[path] = len(few)
    add(8, 100)
    for path, before in counts.items():
        with count_queries(app) as many:
            assert owner.get(path).status_code == 200
        assert len(many) == before, (path, before, len(many))
