"""Subscribe messages (订阅通知): the users' consent per template, as WeChat's callback reports it, and the check
before each send. WeChat lets an account send a subscribe message only to a user who agreed to that template (the
`wx-open-subscribe` button on a page, or a `subscribemsg` link): one message per "accept" for a one-time template,
any number while the consent lasts for a long-term one. We keep the same ledger so a message without consent is
not even tried (it would fail with 43101 and count against the account)."""
from flask_babel import gettext as _
from sqlalchemy import select

from storecrm.sdk import Undeliverable, db, utcnow

from .models import SubscribeConsent

POPUP, CHANGE, SENT = "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"
EVENTS = (POPUP, CHANGE, SENT)
# where each event carries its list of templates (WeChat's XML: <SubscribeMsgPopupEvent><List>…</List>…)
LIST_TAG = {POPUP: "SubscribeMsgPopupEvent", CHANGE: "SubscribeMsgChangeEvent", SENT: "SubscribeMsgSentEvent"}


def consent(openid: str, template_id: str) -> SubscribeConsent | None:
    return db.session.scalar(select(SubscribeConsent).where(SubscribeConsent.openid == openid,
                                                            SubscribeConsent.template_id == template_id))


def _row(openid: str, template_id: str) -> SubscribeConsent:
    row = consent(openid, template_id)
    if row is None:
        row = SubscribeConsent(openid=openid, template_id=template_id, status="reject", credits=0, last_event="")
        db.session.add(row)
    return row


def _entries(event: str, xml: dict) -> list[dict]:
    entries = (xml.get(LIST_TAG[event]) or {}).get("List") or []
    return [e for e in (entries if isinstance(entries, list) else [entries]) if isinstance(e, dict)]


def record_event(openid: str, event: str, xml: dict) -> None:
    """Apply one callback event (already de-duplicated by the caller) to the consent ledger of `openid`."""
    for entry in _entries(event, xml):
        template_id = str(entry.get("TemplateId") or "")[:64]
        if not template_id:
            continue
        row = _row(openid, template_id)
        if event in (POPUP, CHANGE):
            status = str(entry.get("SubscribeStatusString") or "").lower()
            if status == "accept":
                row.status, row.credits = "accept", row.credits + 1
            elif status == "reject":
                row.status, row.credits = "reject", 0
            else:
                continue
            row.last_event = f"{'popup' if event == POPUP else 'change'}:{status}"
        else:
            outcome = str(entry.get("ErrorStatus") or "")
            row.last_event = f"sent:{outcome}"[:64]
            if outcome.startswith("failed:user block") or outcome.startswith("failed:user refuse"):
                row.status, row.credits = "reject", 0
        row.updated_at = utcnow()
    db.session.flush()


def require_consent(openid: str, template_id: str, long_term: bool) -> SubscribeConsent:
    """The consent a send may spend, or Undeliverable (a Chinese reason on the delivery log; not retried)."""
    row = consent(openid, template_id)
    if row is None or row.status != "accept" or (not long_term and row.credits <= 0):
        raise Undeliverable(_("The customer has not agreed to receive this subscribe message (订阅通知) or has used "
                              "up their consent; nothing was sent. They can agree again with the subscribe button."))
    return row


def spend(row: SubscribeConsent, long_term: bool) -> None:
    if not long_term:
        row.credits = max(0, row.credits - 1)
    row.updated_at = utcnow()


def refused(openid: str, template_id: str) -> None:
    """WeChat answered 43101: the user refused or the consent is gone; our ledger follows WeChat."""
    row = _row(openid, template_id)
    row.status, row.credits, row.last_event, row.updated_at = "reject", 0, "send:43101", utcnow()
