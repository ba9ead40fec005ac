"""Messages rendered from templates carry their code and variables (for template-only channels: Chinese SMS,
WeChat); plugins declare theirs with register_message_templates; staff channels receive notify_user's text."""
from sqlalchemy import text


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_send_template_keeps_the_code_and_the_variables_beside_the_tenants_wording(two_tenants, in_tenant, app,
                                                                                    system_db, login):
    from storecrm.extensions import db
    from storecrm.notifications.templates import send_template
    from storecrm.tenancy.context import TenantRef, tenant_context

    alpha, _ = two_tenants
    browser = login(alpha, "owner")
    resp = browser.post(f"/t/{alpha.slug}/message-templates/appointment.code",
                        {"subject_zh": "", "subject_en": "", "body_en": "",
                         "body_zh": "【{store}】验证码 {code}"})
    assert resp.status_code == 302
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        send_template("sms", "+8613800138000", "appointment.code", {"code": 123456, "store": "一号店"},
                      locale="zh_CN", payload={"verification": True})
        db.session.commit()
    [(body, payload)] = _rows(system_db, "SELECT body, payload FROM outbox_messages")
    assert body == "【一号店】验证码 123456"
    assert payload["template"] == "appointment.code" and payload["params"] == {"code": "123456", "store": "一号店"}


def test_a_verification_code_is_never_held_by_quiet_hours_or_the_minute_budget(two_tenants, in_tenant, app):
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.notifications import outbox
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import Tenant

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.get(Tenant, alpha.id).settings = {"quiet_hours": "00:00-23:59", "sms_per_minute": 0}
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        customer = db.session.get(Customer, (alpha.id, alpha.customers[0]))
        code = outbox.send("sms", "+8613800138000", body="123456", customer=customer,
                           payload={"verification": True})
        reminder = outbox.send("sms", "+8613800138000", body="reminder", customer=customer)
        outbox.attempt(code)
        outbox.attempt(reminder)
        assert code.status == "sent"
        assert reminder.status == "pending" and reminder.attempts == 0
        db.session.commit()


def test_register_message_templates_adds_a_plugins_templates_for_tenants_that_use_it(two_tenants, enable_plugin,
                                                                                    login):
    alpha, beta = two_tenants
    enable_plugin(alpha, "retail")
    page = login(alpha, "owner").get(f"/t/{alpha.slug}/message-templates/").get_data(as_text=True)
    assert "retail.coupon_issued" in page and "appointment.code" in page
    other = login(beta, "owner")
    assert "retail.coupon_issued" not in other.get(f"/t/{beta.slug}/message-templates/").get_data(as_text=True)
    assert other.get(f"/t/{beta.slug}/message-templates/retail.coupon_issued").status_code == 404
    edit = login(alpha, "owner").post(f"/t/{alpha.slug}/message-templates/retail.coupon_issued",
                                      {"body_zh": "券 {code} {nope}"})
    assert edit.status_code == 422  # the plugin's variables are the only placeholders allowed


def test_notify_user_also_queues_on_a_staff_channel_that_knows_the_user(two_tenants, app, system_db, monkeypatch):
    from storecrm.extensions import db
    from storecrm.hooks.contrib import NotificationChannel
    from storecrm.notifications import channels, services
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.users.models import User

    alpha, _ = two_tenants
    staff = NotificationChannel("chat", "Chat", lambda message: None,
                                staff_address=lambda user: f"chat-{user.id}" if user.email else None)
    monkeypatch.setattr(services, "channels", lambda: {**channels.CORE, "chat": staff})
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        user = db.session.get(User, (alpha.id, alpha.users["owner"]))
        services.notify_user(user, "新线索", "张先生", "/leads/1", dedupe_key="lead:1")
        db.session.commit()
    rows = _rows(system_db, "SELECT channel, recipient, dedupe_key FROM outbox_messages ORDER BY channel")
    assert [(r.channel, r.dedupe_key) for r in rows] == [("chat", "lead:1:chat"), ("email", "lead:1:email")]
    assert rows[0].recipient == f"chat-{alpha.users['owner']}"


def test_a_channel_raising_undeliverable_gives_up_at_once_with_its_reason(two_tenants, app, monkeypatch):
    from storecrm.extensions import db
    from storecrm.hooks.contrib import NotificationChannel
    from storecrm.notifications import outbox
    from storecrm.tenancy.context import TenantRef, tenant_context

    def refuse(message):
        raise outbox.Undeliverable("消息模板 x 未对应服务商模板，未发送")

    def flaky(message):
        raise ConnectionError("provider down")

    monkeypatch.setattr(outbox, "channels", lambda: {"sms": NotificationChannel("sms", "SMS", refuse),
                                                     "chat": NotificationChannel("chat", "Chat", flaky)})
    alpha, _ = two_tenants
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        never = outbox.send("sms", "+8613800138000", body="x")
        later = outbox.send("chat", "u1", body="y")
        outbox.attempt(never)
        outbox.attempt(later)
        assert (never.status, never.attempts, never.last_error) == ("dead", 1, "消息模板 x 未对应服务商模板，未发送")
        assert later.status == "pending" and later.attempts == 1 and "provider down" in later.last_error
        db.session.commit()
