"""A booking made inside WeChat binds the visitor: the confirmation page (only in the browser that booked) goes
through WeChat sign-in for the customer the booking created or matched, and the confirmation and reminders then
also go by WeChat. An openid another customer holds is never moved."""
import re
from datetime import time, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from storecrm.testing import run_jobs
from wechat_oa_testkit import OPENID, configure, fake_wechat  # noqa: F401  (fixture)

pytestmark = pytest.mark.storecrm_plugins("wechat_oa")
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN")
BOOKING_MAP = ("appointment.booked = TplBooked01; thing1=service, time2=when, thing3=store\n"
               "appointment.reminder = TplRemind01; thing1=service, time2=when")


@pytest.fixture(autouse=True)
def _fresh_tokens(app):
    from redis import Redis

    redis = Redis.from_url(app.config["REDIS_URL"])
    for key in redis.scan_iter("storecrm:wechat_oa:token:*"):
        redis.delete(key)


def _shop(in_tenant, world):
    from storecrm.sdk import tenant_today
    from storecrm.scheduling.models import ServiceType, WorkingPattern
    from storecrm.scheduling.tokens import store_token

    with in_tenant(world) as session:
        for wd in range(7):
            session.add(WorkingPattern(user_id=world.users["technician"], store_id=world.stores[0], weekday=wd,
                                       starts_at=time(0, 0), ends_at=time(23, 59)))
        service = ServiceType(name="保养", duration_minutes=60, buffer_minutes=0, required_skills={},
                              needs_staff=True, min_notice_minutes=0, max_days_ahead=30)
        session.add(service)
        session.flush()
        return service.id, (tenant_today() + timedelta(days=2)).isoformat(), store_token(world.stores[0])


def _book(client, system_db, world, shop, mobile, name="微信客户"):
    service_id, day, token = shop
    url = f"/t/{world.slug}/book/{token}?service_type_id={service_id}&date={day}"
    html = client.get(url, headers={"User-Agent": WECHAT_UA}).get_data(as_text=True)
    start = re.findall(r'name="starts_at" id="slot-\d+" value="([^"]+)"', html)[-1]
    asked = client.post(url, data={"starts_at": start, "mobile": mobile, "name": name},
                        headers={"User-Agent": WECHAT_UA})
    assert asked.status_code == 200, asked.get_data(as_text=True)[:1500]
    with system_db.connect() as conn:
        code = re.search(r"\d{6}", conn.execute(text(
            "SELECT body FROM outbox_messages WHERE channel = 'sms' ORDER BY id DESC LIMIT 1")).scalar()).group(0)
    done = client.post(url, data={"code": code}, headers={"User-Agent": WECHAT_UA})
    assert done.status_code == 302
    return done.headers["Location"]


def _through_wechat(client, location):
    import requests

    answer = requests.get(location, allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}", headers={"User-Agent": WECHAT_UA})


def _wechat_outbox(system_db, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT recipient, payload->>'template' FROM outbox_messages WHERE tenant_id = :t "
                                 "AND channel = 'wechat' ORDER BY id"), {"t": tenant_id}).all()


def test_a_booking_made_inside_wechat_binds_the_visitor_and_confirms_by_wechat(
        app, make_tenant, in_tenant, login, browser, fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha, template_map=BOOKING_MAP)
    shop = _shop(in_tenant, alpha)
    client = browser()
    manage = _book(client, system_db, alpha, shop, "13912345678")
    resp = client.get(manage, headers={"User-Agent": WECHAT_UA})
    assert resp.status_code == 302 and resp.location.startswith(fake_wechat.url + "/connect/oauth2/authorize?")
    back = _through_wechat(client, resp.location)
    assert back.status_code == 302 and back.location.endswith(manage)
    page = client.get(back.location, headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 200 and "保养" in page.get_data(as_text=True)
    with system_db.connect() as conn:
        customer_id = conn.execute(text("SELECT customer_id FROM appointments WHERE tenant_id = :t"),
                                   {"t": alpha.id}).scalar()
        assert conn.execute(text("SELECT customer_id, value FROM customer_identities WHERE tenant_id = :t AND "
                                 "kind = 'wechat_openid'"), {"t": alpha.id}).all() == [(customer_id, OPENID)]
    assert _wechat_outbox(system_db, alpha.id) == [(OPENID, "appointment.booked")]
    client.get(manage, headers={"User-Agent": WECHAT_UA})          # opened again: nothing sent twice
    run_jobs()
    assert [m["template_id"] for m in fake_wechat.sent] == ["TplBooked01"]
    assert fake_wechat.sent[0]["data"]["thing1"] == {"value": "保养"}
    with in_tenant(alpha):                                      # the reminder goes by WeChat too
        from storecrm.scheduling import booking
        from storecrm.scheduling.models import Appointment
        from storecrm.sdk import db

        appointment = db.session.get(Appointment, (alpha.id, db.session.execute(text(
            "SELECT id FROM appointments")).scalar()))
        booking.message_customer(appointment, "appointment.reminder", "test-reminder")
    assert _wechat_outbox(system_db, alpha.id)[-1] == (OPENID, "appointment.reminder")


def test_an_openid_another_customer_holds_is_never_moved_and_a_forwarded_link_binds_nobody(
        app, make_tenant, in_tenant, login, browser, fake_wechat, system_db):
    from storecrm.sdk import Customer, add_identity, get_scoped

    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha, template_map=BOOKING_MAP)
    with in_tenant(alpha):
        add_identity(get_scoped(Customer, alpha.customers[0]), "wechat_openid", OPENID)
    shop = _shop(in_tenant, alpha)
    client = browser()
    manage = _book(client, system_db, alpha, shop, "13700001111", name="新客户")
    resp = client.get(manage, headers={"User-Agent": WECHAT_UA})
    back = _through_wechat(client, resp.location)
    assert client.get(back.location, headers={"User-Agent": WECHAT_UA}).status_code == 200
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT customer_id FROM customer_identities WHERE tenant_id = :t AND "
                                 "kind = 'wechat_openid'"), {"t": alpha.id}).all() == [(alpha.customers[0],)]
    assert _wechat_outbox(system_db, alpha.id) == []           # the new customer has no openid: SMS only
    forwarded = app.test_client().get(manage, headers={"User-Agent": WECHAT_UA})
    assert forwarded.status_code == 200                        # another browser: the page, no sign-in
