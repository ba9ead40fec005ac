"""What a zh_CN chain reads: the audit log in words, time zones by their Chinese names, escalations naming the role
in Chinese with a link, deadlines in Chinese, and phone numbers one tap from a call."""
from __future__ import annotations

import re
from datetime import date
from email import message_from_string

from sqlalchemy import text


def _zh(system_db, world):
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET locale = 'zh_CN' WHERE id = :t"), {"t": world.id})
        conn.execute(text("UPDATE users SET locale = 'zh_CN' WHERE tenant_id = :t"), {"t": world.id})


def _visible(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_audit_log_shows_labels_and_formatted_values_not_codes(two_tenants, in_tenant, login, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    from storecrm.customers.models import Customer
    from storecrm.customers.services import update_customer
    from storecrm.fields.models import FieldDefinition
    from storecrm.users.models import User

    with in_tenant(alpha) as session:
        for code, label, kind in (("vip_card", "会员卡", "bool"), ("budget", "预算", "money"),
                                  ("referrer", "介绍人", "ref_customer"), ("first_visit", "首次到店", "date")):
            session.add(FieldDefinition(entity="customer", code=code, label_zh=label, label_en=code, type=kind))
        session.flush()
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        update_customer(owner, customer, {
            "birthday": date(1985, 3, 12), "store_id": alpha.stores[1],
            "custom": {"vip_card": True, "budget": "12800", "referrer": alpha.customers[1],
                       "first_visit": "2026-03-01"}})
    browser = login(alpha, "admin")
    page = _visible(browser.get("/t/alpha/audit/?entity_type=customer&action=update").get_data(as_text=True))
    for expected in ("生日", "1985年3月12日", "门店", "ALPHA Store Two", "会员卡", "是", "预算", "¥12,800.00",
                     "介绍人", "ALPHA-customer-1", "首次到店", "2026年3月1日", "系统", "客户", "ALPHA-customer-0"):
        assert expected in page, expected
    for raw in ("True", "False", "None", "store_id", "birthday", "vip_card", "{'", "#"):
        assert raw not in page.split("审计日志", 1)[-1], raw


def test_the_time_zone_select_speaks_chinese_and_starts_with_the_common_zones(two_tenants, login, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    page = login(alpha, "owner").get("/t/alpha/settings/").get_data(as_text=True)
    select = page.split('name="timezone"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select)
    assert [zone for zone, _ in options[:5]] == ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Macau",
                                                 "Asia/Singapore"]
    names = dict(options)
    assert names["Asia/Shanghai"].startswith("中国（上海）时间") and "UTC+08:00" in names["Asia/Shanghai"]
    assert "东京" in names["Asia/Tokyo"] or "日本" in names["Asia/Tokyo"]
    assert "localtime" not in names and not any(z.startswith("Etc/") for z in names)
    assert 'value="Asia/Shanghai" selected' in select


def test_an_escalation_names_the_role_in_chinese_and_links_the_item(two_tenants, in_tenant, system_db, app):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    from storecrm.customers.models import Customer
    from storecrm.timers import Timer  # noqa: F401  (the timer table the escalation uses)
    from storecrm.users.models import User
    from storecrm.workflow import engine as workflows

    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        workflows.copy_template(owner, "lead")
        item = workflows.start(session.get(User, (alpha.id, alpha.users["advisor"])), "customer",
                               session.get(Customer, (alpha.id, alpha.customers[0])), "lead")

        class Fired:  # the timer the scheduler would fire at the second escalation step (notify the manager)
            payload = {"item_id": item.id, "entered_at": item.entered_at.isoformat(), "step": 1}

        workflows.escalate(Fired())
    with system_db.connect() as conn:
        body, = conn.execute(text("SELECT body FROM notifications WHERE tenant_id = :t AND user_id = :u"),
                             {"t": alpha.id, "u": alpha.users["manager"]}).one()
        mail = conn.execute(text("SELECT body, payload FROM outbox_messages WHERE tenant_id = :t "
                                 "AND recipient = :r"), {"t": alpha.id, "r": alpha.emails["manager"]}).one()
    assert "店长" in body and "manager" not in body
    assert mail.payload["link"].endswith(f"/workflows/items/{item.id}")
    assert "在 StoreCRM 中打开" in mail.body  # the address is labelled, not bare

    from storecrm.notifications.channels import _email

    sent = []

    class Message:
        recipient, subject, body, payload = alpha.emails["manager"], "逾期", mail.body, mail.payload

    import storecrm.notifications.channels as channels

    original = channels.deliver
    channels.deliver = lambda to, subject, body, html=None: sent.append(html)
    try:
        _email(Message())
    finally:
        channels.deliver = original
    assert sent and f'<a href="{mail.payload["link"]}">在 StoreCRM 中打开</a>' in sent[0]


def test_an_email_with_a_link_has_an_html_part(app):
    from storecrm.mail import deliver

    import smtplib

    captured = []

    class FakeSMTP:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            pass

        def login(self, *a):
            pass

        def send_message(self, msg):
            captured.append(msg.as_string())

    settings = app.config["STORECRM"]
    original, host = smtplib.SMTP, settings.smtp_host
    smtplib.SMTP, settings.smtp_host = FakeSMTP, "smtp.example.test"
    try:
        with app.app_context():
            deliver("a@example.test", "逾期", "正文\n\n在 StoreCRM 中打开: https://x.example/t/a/1",
                    html='<p><a href="https://x.example/t/a/1">在 StoreCRM 中打开</a></p>')
    finally:
        smtplib.SMTP, settings.smtp_host = original, host
    message = message_from_string(captured[0])
    kinds = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in kinds and "text/html" in kinds


def test_deadlines_in_the_diagram_read_in_chinese(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    from storecrm.users.models import User
    from storecrm.workflow import engine as workflows

    from flask_babel import force_locale

    with in_tenant(alpha) as session, force_locale("zh_CN"):
        workflows.copy_template(session.get(User, (alpha.id, alpha.users["owner"])), "lead")
    page = login(alpha, "admin").get("/t/alpha/workflows/lead").get_data(as_text=True)
    diagram = page.split('data-testid="diagram"', 1)[1].split("</svg>", 1)[0]
    assert "24 小时内" in diagram and " h<" not in diagram
