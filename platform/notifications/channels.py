"""Delivery channels. Email goes over SMTP (or the log without SMTP_HOST); SMS goes to the log unless a plugin
brings a provider (`register_notification_channels` with code "sms"); plugins may add channels of their own."""
from __future__ import annotations

import logging

from markupsafe import escape

from ..hooks.contrib import NotificationChannel
from ..hooks.runtime import enabled_plugins, host
from ..mail import deliver

log = logging.getLogger("storecrm.notifications")


def _email(message) -> None:
    payload = message.payload or {}
    html = None
    if payload.get("link"):  # a notification pointing at a page: the HTML part shows the link as a link
        text = message.body or ""
        label = payload.get("link_label") or payload["link"]
        prose = text.rsplit("\n\n", 1)[0] if text.endswith(payload["link"]) else text
        html = (f'<div style="white-space:pre-line">{escape(prose)}</div>'
                f'<p><a href="{escape(payload["link"])}">{escape(label)}</a></p>')
    deliver(message.recipient, message.subject, message.body, html=html)


def _sms_to_log(message) -> None:
    log.info("sms (no provider, logged instead) to=%s\n%s", message.recipient, message.body)


def _webhook(message) -> None:
    # imported here: the module-level `deliver` is mail.deliver (for _email); this one is webhooks.deliver
    from .webhooks import deliver

    deliver(message)


CORE = {"email": NotificationChannel("email", "Email", _email), "sms": NotificationChannel("sms", "SMS", _sms_to_log),
        "webhook": NotificationChannel("webhook", "Webhook", _webhook)}


def channels() -> dict[str, NotificationChannel]:
    """Core channels, overridden or extended by the tenant's enabled plugins."""
    out = dict(CORE)
    for channel in host().items("register_notification_channels", enabled_plugins()):
        out[channel.code] = channel
    return out
