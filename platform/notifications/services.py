"""In-app notifications and the public helper modules and plugins use to notify staff."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..extensions import db
from ..tenancy.models import get_scoped, utcnow
from .models import Notification
from .channels import channels
from .outbox import send


def notify_user(user, title: str, body: str | None = None, url: str | None = None, *, email: bool = True,
                dedupe_key: str | None = None, template: str | None = None,
                params: dict | None = None) -> Notification:
    """A notification in the bell of `user`, and (if they have an address) an email through the outbox,
    both in the current transaction; plus a message on every staff channel of the tenant's plugins (a
    `NotificationChannel` with `staff_address`, e.g. WeCom) that knows an address for `user`.
    template + params: the message template the text was rendered from (kept on the outbox rows)."""
    item = Notification(user_id=user.id, title=title[:200], body=body, url=url)
    db.session.add(item)
    # the link goes out as a link (the HTML part), labelled in the text part rather than a bare address
    link = {"link": url, "link_label": _("Open in StoreCRM")} if url else {}
    text = "\n\n".join(p for p in (body, url and f"{link['link_label']}: {url}") if p)
    if email and getattr(user, "email", None):
        send("email", user.email, title, text, payload=link, dedupe_key=f"{dedupe_key}:email" if dedupe_key else None,
             template=template, params=params)
    for channel in channels().values():
        address = channel.staff_address(user) if channel.staff_address is not None else None
        if address:
            send(channel.code, address, title, text, payload=link, template=template, params=params,
                 dedupe_key=f"{dedupe_key}:{channel.code}" if dedupe_key else None)
    db.session.flush()
    return item


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def notifications_of(user, *, unread_only: bool = False, before_id: int | None = None,
                     limit: int = 50) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before_id:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def get_own(user, notification_id) -> Notification | None:
    item = get_scoped(Notification, notification_id)
    return item if item is not None and item.user_id == user.id else None


def mark_read(item: Notification) -> None:
    if item.read_at is None:
        item.read_at = utcnow()


def mark_read_for(user, url: str) -> int:
    """Mark `user`'s unread notifications pointing at `url` read (they acted on the thing itself); how many."""
    result = db.session.execute(update(Notification).where(Notification.user_id == user.id, Notification.url == url,
                                                           Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount


def mark_all_read(user) -> int:
    result = db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                           Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount
