"""Outgoing email: SMTP when SMTP_HOST is set, otherwise written to the log (embedded default).

Code sends mail through the outbox (`storecrm.notifications.outbox.send("email", …)`), whose email channel calls
`deliver`; nothing here should be called inside a request."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app


log = logging.getLogger("storecrm.mail")


def deliver(to: str, subject: str, body: str, html: str | None = None) -> None:
    settings = current_app.config["STORECRM"]
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if html:
        msg.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    if not settings.smtp_host:
        log.info("mail (no SMTP_HOST, logged instead) to=%s subject=%s\n%s", to, subject, body)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)

