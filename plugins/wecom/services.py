"""Staff bound to WeCom members, the "wecom" staff channel and its test message."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (Undeliverable, User, db, get_scoped, outbox_messages, plugin_settings, record_audit,
                          tenant_url)

from . import client
from .errors import PERMANENT, describe
from .models import Binding

USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # WeCom's UserID: letters, digits and _ - . @, up to 64


def settings() -> dict:
    return plugin_settings("wecom")


def configured(values: dict | None = None) -> bool:
    values = values or settings()
    return all(values.get(k) for k in ("corp_id", "agent_id", "secret"))


def bindings() -> dict[int, Binding]:
    return {b.user_id: b for b in db.session.scalars(select(Binding))}


def userid_of(user) -> str | None:
    """The channel's staff_address: the WeCom UserID a staff member is bound to."""
    return db.session.scalar(select(Binding.wecom_userid).where(Binding.user_id == user.id))


def bind(user, staff_id: int, userid: str) -> Binding | None:
    """Bind staff member `staff_id` to WeCom UserID `userid` (empty: unbind). ValidationError on a bad or taken id."""
    staff = get_scoped(User, staff_id)
    if staff is None:
        raise ValidationError({"user_id": [_("Unknown staff member.")]})
    userid = (userid or "").strip()
    row = db.session.scalar(select(Binding).where(Binding.user_id == staff.id))
    if not userid:
        if row is not None:
            db.session.delete(row)
            record_audit("delete", "wecom_binding", row.id, staff.display_name)
        return None
    if not USERID.match(userid):
        raise ValidationError({f"userid-{staff.id}": [_("A WeCom UserID has letters, digits and _ - . @ only.")]})
    other = db.session.scalar(select(Binding).where(Binding.wecom_userid == userid, Binding.user_id != staff.id))
    if other is not None:
        raise ValidationError({f"userid-{staff.id}": [_("This UserID is already bound to someone else.")]})
    if row is None:
        row = Binding(user_id=staff.id, wecom_userid=userid)
        db.session.add(row)
    row.wecom_userid = userid
    db.session.flush()
    record_audit("update", "wecom_binding", row.id, f"{staff.display_name} → {userid}")
    return row


def _reason(err: client.WecomError) -> str:
    zh, _en = describe(err.errcode, err.errmsg)
    return f"企业微信：{zh}（errcode {err.errcode}）"


def deliver(message) -> None:
    """The "wecom" channel: one app message to the bound member (recipient = UserID)."""
    values = settings()
    if not configured(values):
        raise RuntimeError(_("WeCom is not set up yet: enter the CorpID, AgentId and Secret."))
    link = (message.payload or {}).get("link")
    body = message.body or ""
    if link and body.endswith(link):  # notify_user's text ends with "label: url"; the card has its own button
        body = body.rsplit("\n\n", 1)[0]
    try:
        client.send_text(values, message.recipient, message.subject or "StoreCRM", body,
                         tenant_url(link) if link else None)  # WeCom opens the card's button outside StoreCRM
    except client.WecomError as err:
        if err.errcode in PERMANENT:
            raise Undeliverable(_reason(err)) from err
        raise RuntimeError(_reason(err)) from err


def test_send(user, staff_id: int) -> None:
    """A test message straight to WeCom (the admin waits for the answer); ValidationError in Chinese on failure."""
    values = settings()
    if not configured(values):
        raise ValidationError({"credentials": [_("Enter the CorpID, AgentId and Secret first.")]})
    staff = get_scoped(User, staff_id)
    userid = userid_of(staff) if staff is not None else None
    if not userid:
        raise ValidationError({"staff": [_("Bind this staff member to a WeCom UserID first.")]})
    try:
        client.send_text(values, userid, "StoreCRM 测试消息", "企业微信通知已接通。", None)
    except client.WecomError as err:
        raise ValidationError({"credentials": [_reason(err)]}) from err
    record_audit("create", "wecom_test", None, userid)


def recent(limit: int = 30) -> list:
    return outbox_messages("wecom", limit=limit)


def staff() -> list:
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
