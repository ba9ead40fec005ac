"""Sending the tenant's texts through its provider, the template map, test texts and delivery receipts."""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (Undeliverable, current_tenant_id, db, message_templates, outbox_messages, plugin_settings,
                          record_audit, utcnow)

from . import providers
from .errors import describe
from .models import Delivery, TemplateMapping

PROVIDER_LABELS = {"aliyun": "阿里云短信", "tencent": "腾讯云短信"}


class SendFailed(Exception):
    """The provider refused or could not be reached; waiting may help (the outbox retries)."""


def settings() -> dict:
    return plugin_settings("sms_cn")


def configured(values: dict | None = None) -> bool:
    values = values or settings()
    needed = ["access_key_id", "access_key_secret", "sign_name"]
    if values.get("provider") == "tencent":
        needed.append("tencent_sdk_app_id")
    return all(values.get(name) for name in needed)


def mapping_of(code: str) -> TemplateMapping | None:
    return db.session.scalar(select(TemplateMapping).where(TemplateMapping.code == code))


def mappings() -> dict[str, TemplateMapping]:
    return {m.code: m for m in db.session.scalars(select(TemplateMapping))}


def _zh(code: str, provider_text: str = "") -> str:
    return describe(code, provider_text).zh


def _submit(values: dict, phone: str, code: str, params: dict, reference: str) -> str:
    """Hand one text to the provider; its message id. ProviderError on refusal or outage."""
    mapping = mapping_of(code)
    names = [n.strip() for n in (mapping.param_names or "").split(",") if n.strip()] if mapping else []
    if values["provider"] == "tencent":
        ordered = [params.get(name, "") for name in (names or list(params))]
        return providers.send_tencent(values, phone, mapping.provider_template, ordered, reference)
    return providers.send_aliyun(values, phone, mapping.provider_template, params, reference)


def deliver(message) -> None:
    """The "sms" channel: the outbox's message goes out as the provider template mapped to its message template.
    Free text is never sent (Chinese carriers accept only approved templates). Reasons are kept in Chinese: the
    delivery log is read against the provider's Chinese console."""
    with force_locale("zh_CN"):
        _deliver(message)


def _deliver(message) -> None:
    values = settings()
    provider = values.get("provider") or "aliyun"
    label = PROVIDER_LABELS.get(provider, provider)
    code = (message.payload or {}).get("template")
    if not configured(values):
        raise SendFailed(_("%(provider)s is not set up yet: enter the credentials and the sign name.", provider=label))
    if not code:
        raise Undeliverable(_("This text has no message template; %(provider)s sends only approved templates, so "
                              "nothing was sent.", provider=label))
    if mapping_of(code) is None:
        raise Undeliverable(_("Message template %(code)s has no %(provider)s template mapped; nothing was sent. "
                              "Map it under SMS (China).", code=code, provider=label))
    record = Delivery(message_id=message.id, provider=provider, phone=message.recipient[:20], template=code)
    try:
        record.provider_message_id = _submit(values, message.recipient, code, message.payload.get("params") or {},
                                             str(message.id))
    except providers.ProviderError as err:
        text = describe(err.code, err.text)
        record.status, record.error_code, record.error_text = "failed", err.code[:80], text.zh[:300]
        db.session.add(record)
        db.session.flush()
        reason = f"{label}：{text.zh}（{err.code}）"
        raise (SendFailed(reason) if text.retry else Undeliverable(reason)) from err
    db.session.add(record)
    db.session.flush()


def sample_params(code: str) -> dict:
    """Placeholder values for a test text: a six-digit code where the template has one."""
    template = next((t for t in message_templates() if t.code == code), None)
    names = template.variables if template else ()
    return {name: ("123456" if name == "code" else "测试") for name in names}


def test_send(user, phone: str, code: str) -> Delivery:
    """A test text straight to the provider (not the outbox: the admin waits for the answer on the page).
    ValidationError with the provider's error in Chinese when it refuses."""
    values = settings()
    if not configured(values):
        raise ValidationError({"credentials": [_("Enter the credentials and the sign name first.")]})
    if not phone:
        raise ValidationError({"phone": [_("Enter a mobile number.")]})
    if mapping_of(code) is None:
        raise ValidationError({"template": [_("Map this message template to an approved template first.")]})
    provider = values["provider"]
    record = Delivery(provider=provider, phone=phone[:20], template=code)
    try:
        record.provider_message_id = _submit(values, phone, code, sample_params(code), "test")
    except providers.ProviderError as err:
        with force_locale("zh_CN"):
            text = describe(err.code, err.text)
        raise ValidationError({"credentials": [f"{PROVIDER_LABELS[provider]}：{text.zh}（{err.code}）"]}) from err
    db.session.add(record)
    db.session.flush()
    record_audit("create", "sms_cn_test", record.id, f"{provider} {code}")
    return record


def save_mappings(user, rows: dict[str, tuple[str, str]]) -> None:
    """rows: {message template code: (provider template, param names)}; an empty provider template removes it."""
    known = {t.code: t for t in message_templates()}
    current = mappings()
    errors = {}
    for code, (template, names) in rows.items():
        template, names = (template or "").strip(), (names or "").strip()
        if code not in known:
            continue
        wanted = [n.strip() for n in names.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in known[code].variables]
        if unknown or len(template) > 60:
            errors[f"names-{code}"] = [_("Unknown variables: %(names)s. Available: %(available)s",
                                         names=", ".join(unknown), available=", ".join(known[code].variables))
                                       if unknown else _("Too long.")]
            continue
        row = current.get(code)
        if not template:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = TemplateMapping(code=code, provider_template=template)
            db.session.add(row)
        row.provider_template, row.param_names = template, ",".join(wanted)
    if errors:
        raise ValidationError(errors)
    db.session.flush()
    record_audit("update", "sms_cn_templates", None, f"{len(rows)} templates")


def receipt_token(tenant_id: int | None = None) -> str:
    """The secret in the tenant's receipt address: HMAC of the tenant under the install's SECRET_KEY, so each
    tenant's address is its own and another tenant's cannot be guessed from it."""
    key = current_app.config["SECRET_KEY"].encode()
    tid = tenant_id or current_tenant_id()
    return hmac.new(key, f"sms_cn:receipts:{tid}".encode(), hashlib.sha256).hexdigest()[:40]


def receipt_token_ok(token: str) -> bool:
    return hmac.compare_digest(token.encode(), receipt_token().encode())


def apply_receipts(provider: str, reports: list[dict]) -> int:
    """Carrier receipts pushed by the provider: each updates this tenant's delivery of that provider message id
    (ids of other tenants are simply not found). Returns how many matched."""
    matched = 0
    for report in reports:
        if provider == "aliyun":
            ident, ok = str(report.get("biz_id") or ""), bool(report.get("success"))
            code, text = report.get("err_code") or "", report.get("err_msg") or ""
        else:
            ident, ok = str(report.get("sid") or ""), report.get("report_status") == "SUCCESS"
            code, text = report.get("errmsg") or "", report.get("description") or ""
        if not ident:
            continue
        record = db.session.scalar(select(Delivery).where(Delivery.provider == provider,
                                                          Delivery.provider_message_id == ident))
        if record is None:
            continue
        record.status = "delivered" if ok else "failed"
        record.error_code = None if ok else (code or "UNDELIV")[:80]
        record.error_text = None if ok else _zh(code, text)[:300]
        record.reported_at = utcnow()
        matched += 1
    db.session.flush()
    return matched


def recent(limit: int = 30) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(limit)))


def failures(limit: int = 20) -> list:
    """Outbox texts that could not go (dead) or wait for a retry after an error."""
    return [m for m in outbox_messages("sms", limit=200) if m.status == "dead" or
            (m.status == "pending" and m.last_error)][:limit]


def erase_number(phone: str | None) -> int:
    """Delete the delivery records of a number (a customer erased under PIPL); how many."""
    if not phone:
        return 0
    rows = list(db.session.scalars(select(Delivery).where(Delivery.phone == phone[:20])))
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return len(rows)
