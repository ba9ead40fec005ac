"""Outgoing email: SMTP when SMTP_HOST is set, otherwise written to the log (embedded default)."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

from .jobs import actor
from .jobs.after_commit import after_commit

log = logging.getLogger("storecrm.mail")


def deliver(to: str, subject: str, body: str) -> None:
    settings = current_app.config["STORECRM"]
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if not settings.smtp_host:
        log.info("mail (no SMTP_HOST, logged instead) to=%s subject=%s\n%s", to, subject, body)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)


@actor(max_retries=8, min_backoff=5_000)
def send_email(to: str, subject: str, body: str) -> None:
    deliver(to, subject, body)


def queue_email(to: str, subject: str, body: str) -> None:
    """Send after the current transaction commits; nothing is sent if it rolls back."""
    after_commit(lambda: send_email.send(to, subject, body))
