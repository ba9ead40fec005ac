"""Scheduling pages: the store's day, booking only free slots, actions, set-up pages, the public booking page."""
from __future__ import annotations

import re
from datetime import date, time, timedelta

from sqlalchemy import select, text

from storecrm.calendar import tenant_today
from storecrm.scheduling.models import Appointment, Resource, ServiceType, StaffSkill, WorkingPattern
from storecrm.scheduling.tokens import store_token


def _shop(in_tenant, world, *, needs_staff=True):
    with in_tenant(world) as session:
        tech = world.users["technician"]
        for wd in range(7):
            session.add(WorkingPattern(user_id=tech, store_id=world.stores[0], weekday=wd, starts_at=time(0, 0),
                                       ends_at=time(23, 59)))
        session.add(StaffSkill(user_id=tech, skill="安装", level=3))
        session.add(Resource(store_id=world.stores[0], name="工位 1", kind="bay", capacity=1))
        service = ServiceType(name="音响安装", duration_minutes=60, buffer_minutes=0, required_skills={"安装": 2},
                              needs_staff=needs_staff, resource_kind="bay", min_notice_minutes=0, max_days_ahead=30)
        session.add(service)
        session.flush()
        tomorrow = (tenant_today() + timedelta(days=1)).isoformat()
        return service.id, tomorrow, store_token(world.stores[0])


def test_staff_books_a_free_slot_and_works_it_through(two_tenants, in_tenant, login):
    alpha, _beta = two_tenants
    service_id, tomorrow, _token = _shop(in_tenant, alpha)
    b = login(alpha, "advisor")
    page = b.get(f"/t/alpha/scheduling/book?service_type_id={service_id}&date={tomorrow}&customer_id={alpha.customers[0]}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    starts = re.findall(r'name="starts_at" id="slot-\d+" value="([^"]+)"', html)
    assert len(starts) > 10
    resp = b.post("/t/alpha/scheduling/book", {"store_id": alpha.stores[0], "service_type_id": service_id,
                                               "date": tomorrow, "customer_id": alpha.customers[0],
                                               "starts_at": starts[2]})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    appt_url = resp.headers["Location"]
    # the same slot again: refused with the next free times, nothing written
    again = b.post("/t/alpha/scheduling/book", {"store_id": alpha.stores[0], "service_type_id": service_id,
                                                "date": tomorrow, "customer_id": alpha.customers[2],
                                                "starts_at": starts[2]})
    assert again.status_code == 422
    assert "data-testid=\"next-slots\"" in again.get_data(as_text=True), re.findall(r"invalid-feedback[^<]*<|alert-danger[^<]*<[^<]*<div>[^<]*", again.get_data(as_text=True))
    day = b.get(f"/t/alpha/scheduling/?date={tomorrow}")
    assert "ALPHA-customer-0" in day.get_data(as_text=True)
    for action in ("confirm", "arrive", "start", "complete"):
        resp = b.post(f"{appt_url}/act/{action}", {})
        assert resp.status_code == 302
    assert 'data-testid="waiting"' in b.get(appt_url).get_data(as_text=True)


def test_walk_in_and_a_new_customer_by_mobile(two_tenants, in_tenant, login):
    alpha, _beta = two_tenants
    service_id, tomorrow, _token = _shop(in_tenant, alpha)
    b = login(alpha, "advisor")
    b.get(f"/t/alpha/scheduling/book?service_type_id={service_id}")
    resp = b.post("/t/alpha/scheduling/book", {"store_id": alpha.stores[0], "service_type_id": service_id,
                                               "date": tomorrow, "mobile": "13912345678", "name": "王先生",
                                               "walk_in": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with in_tenant(alpha) as session:
        appt = session.scalar(select(Appointment))
        assert appt.walk_in and appt.status == "arrived" and appt.arrived_at is not None


def test_bad_input_is_refused_with_field_errors(two_tenants, in_tenant, login):
    alpha, _beta = two_tenants
    service_id, tomorrow, _token = _shop(in_tenant, alpha)
    b = login(alpha, "owner")
    for data in ({"starts_at": "garbage", "mobile": "13912345678"}, {"starts_at": "2027-01-01T09:00:00+08:00",
                                                                    "mobile": "x"}):
        resp = b.post("/t/alpha/scheduling/book", {"store_id": alpha.stores[0], "service_type_id": service_id,
                                                   "date": tomorrow, **data})
        assert resp.status_code == 422
    assert b.post("/t/alpha/scheduling/services", {"name": "", "duration_minutes": "x",
                                                   "required_skills": "安装:9"}).status_code == 422
    assert b.post("/t/alpha/scheduling/resources", {"store_id": alpha.stores[0], "name": "",
                                                    "kind": "boat", "capacity": "0"}).status_code == 422
    assert b.post("/t/alpha/scheduling/patterns", {"store_id": alpha.stores[0], "user_id": "1", "weekday": "9",
                                                   "starts_at": "18:00", "ends_at": "09:00"}).status_code == 422
    assert b.post("/t/alpha/scheduling/patterns", {"form": "exception", "store_id": alpha.stores[0],
                                                   "kind": "closure", "user_id": str(alpha.users["technician"]),
                                                   "starts_at": "x", "ends_at": ""}).status_code == 422
    assert b.post(f"/t/alpha/scheduling/staff/{alpha.users['technician']}",
                  {"skills": "安装:7", "regions": ""}).status_code == 422


def test_set_up_pages_save(two_tenants, login, in_tenant):
    alpha, _beta = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/scheduling/services")
    assert b.post("/t/alpha/scheduling/services", {"name": "保养", "duration_minutes": "90", "buffer_minutes": "15",
                                                   "required_skills": "机修:2", "resource_kind": "lift",
                                                   "min_notice_minutes": "60", "max_days_ahead": "14",
                                                   "needs_staff": "1", "active": "1"}).status_code == 302
    assert b.post("/t/alpha/scheduling/resources", {"store_id": alpha.stores[0], "name": "举升机 A", "kind": "lift",
                                                    "capacity": "2", "active": "1"}).status_code == 302
    tech = alpha.users["technician"]
    assert b.post("/t/alpha/scheduling/patterns", {"store_id": alpha.stores[0], "user_id": str(tech),
                                                   "weekday": "1", "starts_at": "09:00",
                                                   "ends_at": "18:00"}).status_code == 302
    assert b.post("/t/alpha/scheduling/patterns", {"form": "exception", "store_id": alpha.stores[0], "kind": "leave",
                                                   "user_id": str(tech), "starts_at": "2027-02-01T09:00",
                                                   "ends_at": "2027-02-02T18:00"}).status_code == 302
    assert b.post(f"/t/alpha/scheduling/staff/{tech}", {"skills": "机修:3, 电路:2",
                                                        "regions": "浦东新区"}).status_code == 302
    for url in ("/t/alpha/scheduling/patterns", "/t/alpha/scheduling/resources", "/t/alpha/scheduling/services",
                "/t/alpha/scheduling/week", "/t/alpha/scheduling/dispatch", "/t/alpha/scheduling/my-day",
                f"/t/alpha/scheduling/staff/{tech}"):
        assert b.get(url).status_code == 200, url
    with in_tenant(alpha) as session:
        assert session.scalar(select(ServiceType.required_skills)) == {"机修": 2}


def test_public_booking_journey(two_tenants, in_tenant, browser, system_db):
    alpha, _beta = two_tenants
    service_id, tomorrow, token = _shop(in_tenant, alpha)
    # the day after tomorrow's last slot: its reminder lies ahead whatever the hour this test runs at (a reminder
    # whose time has passed is not armed)
    tomorrow = (date.fromisoformat(tomorrow) + timedelta(days=1)).isoformat()
    b = browser()
    page = b.get(f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ALPHA-customer" not in html
    start = re.findall(r'name="starts_at" id="slot-\d+" value="([^"]+)"', html)[-1]
    known_mobile = None
    with in_tenant(alpha) as session:
        known_mobile = session.execute(text("SELECT mobile FROM customers WHERE id = :i"),
                                       {"i": alpha.customers[0]}).scalar()
    asked = b.post(f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}",
                   {"starts_at": start, "mobile": known_mobile, "name": "Someone else"})
    assert asked.status_code == 200 and 'data-testid="code-form"' in asked.get_data(as_text=True)
    assert "ALPHA-customer-0" not in asked.get_data(as_text=True)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM appointments")).scalar() == 0  # not before the code
        code = re.search(r"\d{6}", conn.execute(text(
            "SELECT body FROM outbox_messages WHERE channel = 'sms' ORDER BY id DESC LIMIT 1")).scalar()).group(0)
    wrong = b.post(f"/t/alpha/book/{token}?service_type_id={service_id}", {"code": "000000" if code != "000000"
                                                                           else "111111"})
    assert wrong.status_code == 422 and 'data-error-for="code"' in wrong.get_data(as_text=True)
    resp = b.post(f"/t/alpha/book/{token}?service_type_id={service_id}", {"code": code})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    manage = b.get(resp.headers["Location"])
    body = manage.get_data(as_text=True)
    assert manage.status_code == 200 and "音响安装" in body
    assert "ALPHA-customer-0" not in body and "Someone else" not in body  # nothing about the customer is shown
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT customer_id, source FROM appointments")).one()
        assert tuple(row) == (alpha.customers[0], "public")  # One-ID: the known mobile's customer
        assert conn.execute(text("SELECT count(*) FROM outbox_messages WHERE channel = 'sms'")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM timers WHERE kind = 'appointment.reminder'")).scalar() >= 1
    cancel_url = resp.headers["Location"].split("?")[0] + "/cancel"
    assert b.post(cancel_url, {}).status_code == 302
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT status FROM appointments")).scalar() == "cancelled"


def test_public_page_refuses_bad_links_honeypot_and_other_tenants_tokens(two_tenants, in_tenant, browser):
    alpha, beta = two_tenants
    service_id, tomorrow, token = _shop(in_tenant, alpha)
    b = browser()
    assert b.get("/t/alpha/book/not-a-token").status_code == 404
    assert b.get(f"/t/beta/book/{token}").status_code == 404  # alpha's link opens nothing in beta
    assert b.get("/t/alpha/book/manage/forged").status_code == 404
    b.get(f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}")
    resp = b.post(f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}",
                  {"starts_at": "bad", "mobile": "13912345678", "name": "x", "website": "http://spam"})
    assert resp.status_code == 400
    resp = b.post(f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}",
                  {"starts_at": "bad", "mobile": "123", "name": ""})
    assert resp.status_code == 422


def test_a_code_expires_after_five_wrong_tries(two_tenants, in_tenant, browser, system_db):
    alpha, _beta = two_tenants
    service_id, tomorrow, token = _shop(in_tenant, alpha)
    b = browser()
    html = b.get(f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}").get_data(as_text=True)
    start = re.findall(r'name="starts_at" id="slot-\d+" value="([^"]+)"', html)[0]
    assert b.post(f"/t/alpha/book/{token}?service_type_id={service_id}",
                  {"starts_at": start, "mobile": "13912345678", "name": "王"}).status_code == 200
    with system_db.connect() as conn:
        code = re.search(r"\d{6}", conn.execute(text("SELECT body FROM outbox_messages WHERE channel = 'sms'"))
                         .scalar()).group(0)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert b.post(f"/t/alpha/book/{token}?service_type_id={service_id}", {"code": wrong}).status_code == 422
    assert b.post(f"/t/alpha/book/{token}?service_type_id={service_id}", {"code": code}).status_code == 422
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM appointments")).scalar() == 0


def test_public_booking_is_rate_limited(two_tenants, in_tenant, browser):
    alpha, _beta = two_tenants
    service_id, tomorrow, token = _shop(in_tenant, alpha)
    b = browser()
    url = f"/t/alpha/book/{token}?service_type_id={service_id}&date={tomorrow}"
    b.get(url)
    codes = [b.post(url, {"starts_at": "bad", "mobile": "123", "name": ""}).status_code for _ in range(12)]
    assert codes[0] == 422 and codes[-1] == 429


def test_day_and_week_pages_do_not_grow_queries_with_appointments(two_tenants, in_tenant, login, app):
    """A week with 200 appointments renders in the same number of queries as a week with 2 (no N+1)."""
    from datetime import datetime, timezone

    from tests.test_query_counts import count_queries

    alpha, _beta = two_tenants
    service_id, tomorrow, _token = _shop(in_tenant, alpha, needs_staff=False)
    monday = date.fromisoformat(tomorrow) - timedelta(days=date.fromisoformat(tomorrow).weekday())

    def add(n, offset):
        with in_tenant(alpha) as session:
            for i in range(n):
                start = datetime.combine(monday + timedelta(days=i % 7), time(0), tzinfo=timezone.utc) \
                    + timedelta(minutes=10 * (i // 7) + offset)
                session.add(Appointment(store_id=alpha.stores[0], customer_id=alpha.customers[i % 3],
                                        service_type_id=service_id, starts_at=start,
                                        ends_at=start + timedelta(minutes=5), blocked_until=start + timedelta(minutes=5)))

    b = login(alpha, "owner")
    add(2, 0)
    pages = (f"/t/alpha/scheduling/week?date={monday}", f"/t/alpha/scheduling/?date={monday}",
             f"/t/alpha/scheduling/dispatch?date={monday}")
    few = {}
    for path in pages:
        with count_queries(app) as statements:
            assert b.get(path).status_code == 200
        few[path] = len(statements)
    add(198, 1)
    for path in pages:
        with count_queries(app) as statements:
            resp = b.get(path)
        assert resp.status_code == 200
        assert len(statements) <= few[path] + (3 if "dispatch" in path else 0), (path, few[path], len(statements))
