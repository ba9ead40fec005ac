"""Words for stored codes: a page never shows a code."""
from flask_babel import lazy_gettext as _l

PURPOSES = {"order": _l("Order payment"), "retail.topup": _l("Stored-value top-up"), "test": _l("Test payment"),
            "sales.quote_deposit": _l("Quote deposit")}
STATUSES = {"created": _l("Awaiting payment"), "paid": _l("Paid"), "failed": _l("Failed"), "refunded": _l("Refunded"),
            "closed": _l("Closed")}
TRADE_TYPES = {"jsapi": _l("In WeChat (JSAPI)"), "native": _l("QR code (Native)")}
REFUND_STATUSES = {"processing": _l("Processing"), "success": _l("Refunded"), "closed": _l("Closed"),
                   "abnormal": _l("Abnormal")}


def label(mapping, code):
    return mapping.get(code, code and "—")
