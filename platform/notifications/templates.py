"""Message templates: built-in wording per message code, which a tenant may rewrite in Chinese and English.

Placeholders are `{name}` from the code's list of variables and nothing else — no attribute or index access, no
expressions — so a template can never reach into the objects behind it (str.format on user-written text would)."""
from __future__ import annotations

import string

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record
from ..extensions import db
from ..hooks.contrib import MessageTemplate
from ..hooks.runtime import enabled_plugins, host
from ..tenancy.models import current_tenant_row
from .models import NotificationTemplate

# the core's own templates are the same kind of object plugins declare (register_message_templates)
Builtin = MessageTemplate


BUILTINS = {b.code: b for b in (
    Builtin("task.reminder", _l("Task reminder (to the assignee)"), ("task_title", "due", "customer_name", "link"),
            "提醒：{task_title}", "Reminder: {task_title}",
            "截止 {due}\n客户：{customer_name}\n{link}", "Due {due}\nCustomer: {customer_name}\n{link}"),
    Builtin("appointment.booked", _l("Appointment booked (SMS to the customer)"),
            ("customer_name", "service", "store", "when", "link"),
            "预约成功", "Appointment booked",
            "{customer_name}您好，您已预约{store}的{service}，时间 {when}。查看或取消：{link}",
            "Hello {customer_name}, your {service} at {store} is booked for {when}. Manage or cancel: {link}"),
    Builtin("appointment.code", _l("Online booking verification code (SMS)"), ("code", "store"),
            "验证码", "Verification code",
            "您在{store}的预约验证码：{code}，10分钟内有效。如非本人操作请忽略。",
            "Your booking code for {store}: {code} (valid 10 minutes). Ignore this if it was not you."),
    Builtin("appointment.reminder", _l("Appointment reminder (SMS to the customer, 24 h and 2 h before)"),
            ("customer_name", "service", "store", "when", "link"),
            "预约提醒", "Appointment reminder",
            "{customer_name}您好，提醒您 {when} 在{store}的{service}预约。查看或取消：{link}",
            "Hello {customer_name}, a reminder of your {service} at {store} on {when}. Manage or cancel: {link}"),
    Builtin("survey.invitation", _l("Satisfaction survey invitation (to the customer)"), ("store", "link"),
            "本次服务您满意吗?", "How did we do?",
            "{store}:本次服务您满意吗?花一分钟告诉我们:{link}", "{store}: how did we do? Tell us in one minute: {link}"),
    Builtin("survey.reminder", _l("Satisfaction survey reminder (to the customer)"), ("store", "link"),
            "本次服务您满意吗?", "How did we do?",
            "{store}：温馨提醒，您对本次服务满意吗？一分钟告诉我们：{link}",
            "{store}: a gentle reminder. How did we do? One minute: {link}"),
)}
FIELDS = ("subject_zh", "subject_en", "body_zh", "body_en")


def available() -> dict[str, MessageTemplate]:
    """Every message template of the tenant: the core's BUILTINS and those of its enabled plugins
    (`register_message_templates`); a plugin cannot replace a core code."""
    out = {}
    for template in host().items("register_message_templates", enabled_plugins()):
        out.setdefault(template.code, template)
    out.update(BUILTINS)
    return out


def get(code: str) -> MessageTemplate | None:
    return available().get(code)


def _placeholders(text: str) -> list[str]:
    try:
        return [name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
    except ValueError:
        raise ValidationError(_l("Unbalanced { or }; write {{ and }} for the braces themselves."))


def check(code: str, data: dict) -> dict:
    builtin = available()[code]
    errors = {}
    for field in FIELDS:
        text = (data.get(field) or "").strip()
        if len(text) > (200 if field.startswith("subject") else 2000):
            errors[field] = [_l("Too long.")]
            continue
        try:
            unknown = [n for n in _placeholders(text) if n not in builtin.variables]
        except ValidationError as err:
            errors[field] = err.messages
            continue
        if unknown:
            errors[field] = [_l("Unknown placeholder: %(names)s. Available: %(available)s",
                                names=", ".join("{%s}" % n for n in unknown),
                                available=", ".join("{%s}" % v for v in builtin.variables))]
    if errors:
        raise ValidationError(errors)
    return {field: (data.get(field) or "").strip() for field in FIELDS}


def override_of(code: str) -> NotificationTemplate | None:
    return db.session.scalar(select(NotificationTemplate).where(NotificationTemplate.code == code))


def save(code: str, data: dict) -> NotificationTemplate:
    """Store the tenant's wording; empty fields fall back to the built-in text."""
    cleaned = check(code, data)
    row = override_of(code)
    if row is None:
        row = NotificationTemplate(code=code)
        db.session.add(row)
    for field, value in cleaned.items():
        setattr(row, field, value)
    db.session.flush()
    record("update", "template", row.id, code)
    return row


def render(code: str, locale: str, variables: dict) -> tuple[str, str]:
    """(subject, body) in `locale` ("zh_CN" or "en"), the tenant's wording where it has one."""
    builtin = available()[code]
    row = override_of(code)
    suffix = "zh" if locale.startswith("zh") else "en"
    subject = (getattr(row, f"subject_{suffix}", "") if row else "") or getattr(builtin, f"subject_{suffix}")
    body = (getattr(row, f"body_{suffix}", "") if row else "") or getattr(builtin, f"body_{suffix}")
    values = {name: "" if variables.get(name) is None else str(variables[name]) for name in builtin.variables}
    fill = lambda text: "".join(  # noqa: E731 — only the code's own names, nothing else is looked up
        literal + (values.get(name, "") if name is not None else "")
        for literal, name, _spec, _conv in string.Formatter().parse(text))
    return fill(subject), fill(body)


def params_of(code: str, variables: dict) -> dict[str, str]:
    """The template's variables as strings, exactly the names it declares: what a provider that sends only
    pre-approved templates (Chinese SMS, WeChat template messages) fills its own template with."""
    return {name: "" if variables.get(name) is None else str(variables[name]) for name in available()[code].variables}


def send_template(channel: str, recipient: str, code: str, variables: dict, *, locale: str | None = None,
                  customer=None, marketing: bool = False, dedupe_key: str | None = None, payload: dict | None = None):
    """Render message template `code` (the tenant's wording, in `locale`, by default the tenant's language) and queue
    it on `channel` through the outbox with payload["template"] = code and payload["params"] = its variables, so a
    channel that needs a pre-approved template sends that instead of the text. Returns the OutboxMessage (or None
    for a duplicate dedupe_key)."""
    # templates stays a leaf that views and the template editor import without the outbox and its job broker:
    from .outbox import send  # imported here: the outbox pulls in storecrm.jobs, whose broker is fixed at import

    locale = locale or current_tenant_row().locale or "zh_CN"
    subject, body = render(code, locale, variables)
    return send(channel, recipient, subject, body, payload=payload, dedupe_key=dedupe_key, customer=customer,
                marketing=marketing, template=code, params=params_of(code, variables))
