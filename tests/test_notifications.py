"""The transactional outbox, exact-time timers, task reminders and the bell."""
from datetime import timedelta

from sqlalchemy import text

from tests.test_imports import _run_worker


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_a_rolled_back_change_sends_nothing_and_a_committed_one_is_relayed(two_tenants, in_tenant, app, system_db,
                                                                         caplog):
    from storecrm.extensions import db
    from storecrm.notifications.outbox import send

    alpha, _ = two_tenants
    with app.app_context():
        from storecrm.tenancy.context import TenantRef, tenant_context

        with tenant_context(TenantRef(alpha.id, alpha.slug)):
            send("email", "a@example.com", "rolled back", "never")
            db.session.rollback()
            send("email", "b@example.com", "committed", "hello")
            db.session.commit()
    assert _rows(system_db, "SELECT subject, status FROM outbox_messages") == [("committed", "pending")]
    with caplog.at_level("INFO", logger="storecrm.mail"):
        _run_worker()
    assert _rows(system_db, "SELECT subject, status, attempts FROM outbox_messages") == [("committed", "sent", 1)]
    assert "b@example.com" in caplog.text and "a@example.com" not in caplog.text


def test_a_broker_outage_loses_nothing_and_failures_back_off_until_dead(two_tenants, app, system_db, monkeypatch):
    from storecrm.extensions import db
    from storecrm.notifications import outbox
    from storecrm.notifications.channels import CORE
    from storecrm.hooks.contrib import NotificationChannel
    from storecrm.tenancy.context import TenantRef, tenant_context

    alpha, _ = two_tenants

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(outbox.deliver, "send", broker_down)
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        outbox.send("email", "c@example.com", "during the outage", "kept")
        db.session.commit()  # the request still succeeds
    assert _rows(system_db, "SELECT status FROM outbox_messages") == [("pending",)]
    monkeypatch.undo()
    from storecrm.notifications.sweeps import relay_all_due

    with app.app_context():
        assert relay_all_due() == 1  # the minute sweep finds the tenant with a due message
    _run_worker()
    assert _rows(system_db, "SELECT status FROM outbox_messages") == [("sent",)]

    calls = []

    def failing(message):
        calls.append(message.id)
        raise OSError("provider refused")

    monkeypatch.setitem(CORE, "sms", NotificationChannel("sms", "SMS", failing))
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        message = outbox.send("sms", "+8613800138000", body="your car is ready")
        for attempt in range(outbox.MAX_ATTEMPTS):
            message.next_attempt_at = message.next_attempt_at - timedelta(days=1)
            outbox.attempt(message)
        db.session.commit()
    status, attempts, error = _rows(system_db, "SELECT status, attempts, last_error FROM outbox_messages "
                                               "WHERE channel='sms'")[0]
    assert (status, attempts) == ("dead", outbox.MAX_ATTEMPTS) and "provider refused" in error
    assert len(calls) == outbox.MAX_ATTEMPTS


def test_quiet_hours_hold_texts_to_customers_and_marketing_needs_consent(two_tenants, in_tenant, app, system_db):
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.notifications import outbox
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import Tenant

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.get(Tenant, alpha.id).settings = {"quiet_hours": "00:00-23:59"}
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        customer = db.session.get(Customer, (alpha.id, alpha.customers[0]))
        held = outbox.send("sms", "+8613800138000", body="service reminder", customer=customer)
        staff = outbox.send("sms", "+8613900139000", body="new lead")
        promo = outbox.send("sms", "+8613800138000", body="sale!", customer=customer, marketing=True)
        before = held.next_attempt_at
        outbox.attempt(held)
        outbox.attempt(staff)
        assert held.status == "pending" and held.attempts == 0 and held.next_attempt_at > before
        assert staff.status == "sent"
        assert promo.status == "skipped" and "consent" in promo.last_error
        db.session.commit()


def test_timers_fire_once_whoever_sweeps(two_tenants, app, system_db, monkeypatch):
    from storecrm.extensions import db
    from storecrm import timers
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import utcnow

    alpha, beta = two_tenants
    fired = []
    monkeypatch.setitem(timers.HANDLERS, "test.ping", lambda timer: fired.append((timer.tenant_id, timer.key)))
    for world in (alpha, beta):
        with app.app_context(), tenant_context(TenantRef(world.id, world.slug)):
            timers.schedule("ping-now", "test.ping", utcnow() - timedelta(seconds=5))
            timers.schedule("ping-later", "test.ping", utcnow() + timedelta(hours=1))
            db.session.commit()
    with app.app_context():
        first = timers.claim_due()
        second = timers.claim_due()  # another scheduler at the same moment: the lease keeps it off
    assert sorted(tid for tid, _slug, _id in first) == sorted([alpha.id, beta.id]) and second == []
    for tenant_id, slug, timer_id in first:
        for _ in range(2):  # a redelivered job
            with app.app_context(), tenant_context(TenantRef(tenant_id, slug)):
                timers.fire.fn(timer_id)
                db.session.commit()
    assert sorted(fired) == sorted([(alpha.id, "ping-now"), (beta.id, "ping-now")])
    assert _rows(system_db, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")[0][0] == 2


def test_a_task_reminder_reaches_the_assignee_at_its_time(two_tenants, login, app, system_db, api_token):
    from storecrm.timers import dispatch_due

    alpha, beta = two_tenants
    b = login(alpha, "advisor")
    b.get(f"/t/alpha/customers/{alpha.customers[0]}")
    resp = b.post(f"/t/alpha/customers/{alpha.customers[0]}/tasks", {
        "title": "回访报价", "due_at": "2026-01-02T10:00", "remind_at": "2026-01-02T09:30",
        "assignee_id": str(alpha.users["manager"])})
    assert resp.status_code == 302
    assert _rows(system_db, "SELECT kind, due_at AT TIME ZONE 'Asia/Shanghai' FROM timers")[0][0] == "task.reminder"
    with app.app_context():
        assert dispatch_due() == 1
    _run_worker()
    (title, body, user_id), = _rows(system_db, "SELECT title, body, user_id FROM notifications")
    assert user_id == alpha.users["manager"] and "回访报价" in title
    assert _rows(system_db, "SELECT channel, status FROM outbox_messages") == [("email", "sent")]
    manager = login(alpha, "manager")
    home = manager.get("/t/alpha/").get_data(as_text=True)
    assert 'data-testid="unread">1<' in home
    page = manager.get("/t/alpha/notifications/").get_data(as_text=True)
    note_id = int(__import__("re").search(r'data-notification="(\d+)"', page).group(1))
    opened = manager.post(f"/t/alpha/notifications/{note_id}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == "/t/alpha/tasks/"
    assert 'data-testid="unread"' not in manager.get("/t/alpha/").get_data(as_text=True)
    # the API sees the same; another tenant's user sees nothing of it
    headers = api_token(alpha, "manager")
    listed = app.test_client().get("/api/v1/notifications", headers=headers).get_json()
    assert listed["unread"] == 0 and listed["items"][0]["read_at"]
    assert app.test_client().post(f"/api/v1/notifications/{note_id}/read",
                                  headers=api_token(beta, "manager")).status_code == 404
    # marking the task done cancels a pending reminder
    resp = b.post(f"/t/alpha/customers/{alpha.customers[0]}/tasks", {
        "title": "second", "remind_at": "2099-01-01T09:00"})
    task_id = _rows(system_db, "SELECT id FROM tasks WHERE title='second'")[0][0]
    assert _rows(system_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL")[0][0] == 1
    b.post(f"/t/alpha/tasks/{task_id}/status", {"status": "done"})
    assert _rows(system_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL")[0][0] == 0


def test_mark_all_read_touches_only_the_callers_own(two_tenants, in_tenant, login, app, api_token, system_db):
    from storecrm.notifications.services import notify_user
    from storecrm.users.models import User

    alpha, beta = two_tenants
    for world in (alpha, beta):
        with in_tenant(world) as session:
            for role in ("owner", "advisor"):
                notify_user(session.get(User, (world.id, world.users[role])), f"{world.slug} {role}", email=False)
    b = login(alpha, "owner")
    b.get("/t/alpha/notifications/")
    assert b.post("/t/alpha/notifications/read-all").status_code == 302
    assert app.test_client().post("/api/v1/notifications/read-all",
                                  headers=api_token(alpha, "advisor")).get_json() == {"marked": 1}
    unread = {row[0] for row in _rows(system_db, "SELECT title FROM notifications WHERE read_at IS NULL")}
    assert unread == {"beta owner", "beta advisor"}


def test_a_tenants_sms_budget_per_minute_holds_the_rest(two_tenants, in_tenant, app, system_db):
    from storecrm.extensions import db
    from storecrm.notifications import outbox
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import Tenant

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.get(Tenant, alpha.id).settings = {"sms_per_minute": 2}
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        messages = [outbox.send("sms", f"+86138001380{i:02d}", body="到店提醒") for i in range(3)]
        for message in messages:
            outbox.attempt(message)
            db.session.flush()
        assert [m.status for m in messages] == ["sent", "sent", "pending"]
        assert messages[2].attempts == 0 and messages[2].next_attempt_at > messages[1].sent_at
        db.session.commit()


def test_a_tenant_rewrites_the_reminder_and_templates_cannot_reach_further(two_tenants, login, app, api_token,
                                                                           system_db):
    from storecrm.timers import dispatch_due

    alpha, beta = two_tenants
    admin = login(alpha, "admin")
    admin.get("/t/alpha/message-templates/task.reminder")
    for bad in ("{task_title.__class__}", "{secret}", "{task_title"):
        resp = admin.post("/t/alpha/message-templates/task.reminder", {"subject_zh": bad})
        assert resp.status_code == 422 and 'data-error-for="subject_zh"' in resp.get_data(as_text=True), bad
    ok = admin.post("/t/alpha/message-templates/task.reminder", {
        "subject_zh": "【{customer_name}】{task_title} 到点了", "body_zh": "{due} 前完成，{{勿回}}",
        "subject_en": "[{customer_name}] {task_title} is due", "body_en": "by {due} {{no reply}}"})
    assert ok.status_code == 302
    advisor = login(alpha, "advisor")
    advisor.get(f"/t/alpha/customers/{alpha.customers[0]}")
    advisor.post(f"/t/alpha/customers/{alpha.customers[0]}/tasks", {
        "title": "交车", "due_at": "2026-01-02T10:00", "remind_at": "2026-01-02T09:00"})
    with app.app_context():
        dispatch_due()
    _run_worker()
    (title, body), = _rows(system_db, "SELECT title, body FROM notifications")  # the advisor reads English
    assert title == "[ALPHA-customer-0] 交车 is due" and body.startswith("by ") and body.endswith("{no reply}")
    # the API shows the text in force; beta still has the built-in one
    listed = app.test_client().get("/api/v1/message-templates", headers=api_token(alpha, "owner")).get_json()
    assert listed[0]["customised"] and listed[0]["subject_zh"].startswith("【")
    theirs = app.test_client().get("/api/v1/message-templates", headers=api_token(beta, "owner")).get_json()
    assert not theirs[0]["customised"] and theirs[0]["subject_zh"] == "提醒：{task_title}"
    bad = app.test_client().put("/api/v1/message-templates/task.reminder", json={"body_en": "{password}"},
                                headers=api_token(alpha, "owner"))
    assert bad.status_code == 422 and "body_en" in bad.get_json()["errors"]
