"""Translated labels of the codes sales stores (states, methods, invoice states): never show a raw code."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

QUOTE_STATE_LABELS = {"draft": _l("Draft"), "sent": _l("Sent"), "accepted": _l("Accepted"),
                      "declined": _l("Declined"), "expired": _l("Expired")}
ORDER_STATE_LABELS = {"draft": _l("Draft"), "confirmed": _l("Confirmed"), "fulfilled": _l("Fulfilled"),
                      "closed": _l("Closed"), "cancelled": _l("Cancelled")}
METHOD_LABELS = {"cash": _l("Cash"), "wechat_pay": _l("WeChat Pay"), "alipay": _l("Alipay"),
                 "bank_card": _l("Bank card"), "transfer": _l("Bank transfer"), "stored_value": _l("Stored value")}
INVOICE_LABELS = {"none": _l("No invoice"), "requested": _l("Invoice requested"), "issued": _l("Invoice issued"),
                  "voided": _l("Invoice voided")}
APPROVAL_LABELS = {"none": "", "needed": _l("Needs approval"), "pending": _l("Awaiting approval"),
                   "approved": _l("Approved")}
DEPOSIT_STATE_LABELS = {"held": _l("Held"), "applied": _l("Carried to the order"), "refunding": _l("Being refunded"),
                        "refunded": _l("Refunded")}
KIND_LABELS = {"product": _l("Product"), "service": _l("Labour"), "part": _l("Part"), "package": _l("Package")}


def state_label(kind: str, state: str) -> str:
    labels = QUOTE_STATE_LABELS if kind == "quote" else ORDER_STATE_LABELS
    return str(labels.get(state, state))


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method))
