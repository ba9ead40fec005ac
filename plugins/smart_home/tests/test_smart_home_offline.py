"""The engineer's phone sends a queued step more than once (a lost answer, the signal back twice, two tabs): each step
carries the idempotency key the phone made, and the server does it exactly once — replayed one after the other and
sent at the same moment. The page asks for geolocation through the core's per-route Permissions-Policy."""
import io
import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from smart_home_testkit import PNG, installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")

PHOTO = PNG.split(",", 1)[1]


def _order(alpha, in_tenant, ids):
    from storecrm.plugins.smart_home import services

    with in_tenant(alpha):
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        assert order.engineer_id == ids["tech"]
        return order.id


def _count(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_every_queued_step_sent_twice_happens_once_and_answers_the_first_result(app, make_tenant, in_tenant,
                                                                                 login, system_db):
    import base64

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    order_id = _order(alpha, in_tenant, ids)
    tech = login(alpha, "technician")
    job = f"/t/alpha/smart-home/engineer/{order_id}"
    tech.get(job)
    json_headers = {"Accept": "application/json"}
    steps = [("accept", {}), ("check-in", {"latitude": "31.230100", "longitude": "121.500000"}),
             ("parts", {"item_id": ids["module"], "quantity": "1"}),
             ("return-part", {"item_id": ids["module"], "serial": "FP-OLD-1", "reason": "进水"}),
             ("complete", {"diagnosis": "模组坏", "report": "已更换", "signed_name": "王女士", "fixed": "1",
                           "signature": PNG})]
    keys = {}
    for action, fields in steps:
        key = keys[action] = str(uuid.uuid4())
        first = tech.post(f"{job}/{action}", {**fields, "idempotency_key": key}, headers=json_headers)
        assert first.status_code == 200, (action, first.get_data(as_text=True)[:300])
        assert first.get_json()["replayed"] is False
        for _again in range(2):
            again = tech.post(f"{job}/{action}", {**fields, "idempotency_key": key}, headers=json_headers)
            assert again.status_code == 200 and again.get_json()["replayed"] is True
            assert again.get_json()["state"] == first.get_json()["state"]  # the first result, not today's state
        if action == "parts":  # the photo goes in while on site, with its own key, twice
            photo_key = str(uuid.uuid4())
            for _n in range(2):
                sent = tech.post(f"{job}/photo", {"idempotency_key": photo_key,
                                                  "photo": (io.BytesIO(base64.b64decode(PHOTO)), "before.png")},
                                 headers=json_headers, content_type="multipart/form-data")
                assert sent.status_code == 200, sent.get_data(as_text=True)[:300]
    t = alpha.id
    assert _count(system_db, "SELECT count(*) FROM smart_home_part_usages WHERE tenant_id = :t", t=t) == 1
    assert _count(system_db, "SELECT count(*) FROM smart_home_part_returns WHERE tenant_id = :t", t=t) == 1
    assert _count(system_db, "SELECT jsonb_array_length(photo_ids) FROM smart_home_work_orders WHERE tenant_id = :t",
                  t=t) == 1
    assert _count(system_db, "SELECT count(*) FROM smart_home_work_order_events WHERE tenant_id = :t "
                             "AND to_state = 'on_site' AND from_state <> 'on_site'", t=t) == 1
    assert _count(system_db, "SELECT state FROM smart_home_work_orders WHERE tenant_id = :t", t=t) == "done"
    assert _count(system_db, "SELECT -sum(quantity) FROM stock_movements WHERE tenant_id = :t AND kind = 'issue'",
                  t=t) == 1
    assert _count(system_db, "SELECT count(*) FROM smart_home_action_receipts WHERE tenant_id = :t", t=t) == 6
    # a key sent with another step, or not a key at all, is refused with a field error
    for key in (keys["parts"], "not-valid!"):
        reused = tech.post(f"{job}/request-part", {"item_id": ids["module"], "idempotency_key": key},
                           headers=json_headers)
        assert reused.status_code == 422 and "idempotency_key" in reused.get_json()["errors"]


def test_a_refused_step_keeps_nothing_so_sending_it_again_is_judged_again(app, make_tenant, in_tenant, login,
                                                                          system_db):
    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    order_id = _order(alpha, in_tenant, ids)
    tech = login(alpha, "technician")
    job = f"/t/alpha/smart-home/engineer/{order_id}"
    tech.get(job)
    key = str(uuid.uuid4())
    early = tech.post(f"{job}/parts", {"item_id": ids["module"], "idempotency_key": key},
                      headers={"Accept": "application/json"})
    assert early.status_code == 422 and early.get_json()["errors"]["state"]
    assert _count(system_db, "SELECT count(*) FROM smart_home_action_receipts WHERE tenant_id = :t", t=alpha.id) == 0
    page = tech.post(f"{job}/parts", {"item_id": ids["module"], "idempotency_key": key})  # the page's form: 422 HTML
    assert page.status_code == 422 and "text/html" in page.content_type


def test_the_same_step_sent_at_the_same_moment_from_two_tabs_happens_once(app, make_tenant, in_tenant, system_db):
    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import offline, services
    from storecrm.plugins.smart_home.models import WorkOrder

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    order_id = _order(alpha, in_tenant, ids)
    with in_tenant(alpha):
        tech = get_scoped(User, ids["tech"])
        order = get_scoped(WorkOrder, order_id)
        services.accept(tech, order)
        services.check_in(tech, order, {})
    keys = {"parts": str(uuid.uuid4()), "return-part": str(uuid.uuid4())}
    data = {"parts": {"item_id": ids["module"], "quantity": Decimal("2")},
            "return-part": {"item_id": ids["module"], "quantity": Decimal("1"), "serial": "X", "reason": None}}
    barrier, results, errors = threading.Barrier(4), [], []

    def tab(action):
        try:
            with in_tenant(alpha):
                tech = get_scoped(User, ids["tech"])
                order = get_scoped(WorkOrder, order_id)
                barrier.wait()
                results.append((action, offline.run_once(tech, order, keys[action], action, lambda: offline.perform(
                    tech, order, action, dict(data[action])))))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(a,)) for a in ("parts", "parts", "return-part", "return-part")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for action in keys:
        answers = [r for a, r in results if a == action]
        assert sorted(replayed for _res, replayed in answers) == [False, True]
        assert answers[0][0] == answers[1][0]
    t = alpha.id
    assert _count(system_db, "SELECT sum(quantity) FROM smart_home_part_usages WHERE tenant_id = :t", t=t) == 2
    assert _count(system_db, "SELECT count(*) FROM smart_home_part_returns WHERE tenant_id = :t", t=t) == 1
    with in_tenant(alpha) as session:
        from storecrm.sdk import StockLocation, get_catalog_item, stock_available

        left = stock_available(get_catalog_item(ids["module"]), session.get(StockLocation, (alpha.id, ids["vans"][ids["tech"]])))
        assert left == 3


def test_only_the_engineer_page_may_ask_for_the_phones_position(app, make_tenant, in_tenant, login):
    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    order_id = _order(alpha, in_tenant, ids)
    tech = login(alpha, "technician")
    job = tech.get(f"/t/alpha/smart-home/engineer/{order_id}")
    assert job.headers["Permissions-Policy"] == "camera=(self), geolocation=(self), microphone=()"
    for url in ("/t/alpha/smart-home/engineer/", "/t/alpha/", f"/t/alpha/smart-home/orders/{order_id}"):
        assert "geolocation=()" in tech.get(url).headers["Permissions-Policy"], url
    worker = tech.get("/t/alpha/smart-home/engineer/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.content_type
    assert "caches" in worker.get_data(as_text=True)


def test_a_step_sent_late_keeps_the_time_it_was_tapped_within_a_day(app, make_tenant, in_tenant, login, system_db):
    from datetime import datetime, timedelta, timezone

    from storecrm.plugins.smart_home.offline import tapped_at

    now = datetime(2026, 12, 3, 14, 0, tzinfo=timezone.utc)
    assert tapped_at("2026-12-03T12:30:00.000Z", now) == datetime(2026, 12, 3, 12, 30, tzinfo=timezone.utc)
    for wrong in ("2026-12-03T14:05:00Z", "2026-12-01T12:00:00Z", "2026-12-03T12:30:00", "yesterday", "", None):
        assert tapped_at(wrong, now) is None, wrong
    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    order_id = _order(alpha, in_tenant, ids)
    tech = login(alpha, "technician")
    job = f"/t/alpha/smart-home/engineer/{order_id}"
    tech.get(job)
    tapped = datetime.now(timezone.utc) - timedelta(minutes=95)
    sent = tech.post(f"{job}/check-in", {"idempotency_key": str(uuid.uuid4()), "tapped_at": tapped.isoformat()},
                     headers={"Accept": "application/json"})
    assert sent.status_code == 200
    with system_db.connect() as conn:
        checked_in = conn.execute(text("SELECT checked_in_at FROM smart_home_work_orders WHERE tenant_id = :t"),
                                  {"t": alpha.id}).scalar()
    assert abs((checked_in - tapped).total_seconds()) < 1
