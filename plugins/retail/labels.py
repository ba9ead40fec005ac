"""Words for stored codes: a page never shows a code."""
from flask_babel import lazy_gettext as _l

SOURCES = {"till": _l("At the till"), "qr": _l("Self-service QR code"), "import": _l("Import"), "rule": _l("Automation rule")}
TIER_REASONS = {"joined": _l("Joined"), "upgrade": _l("Upgrade"), "downgrade": _l("Downgrade")}
POINT_KINDS = {"earn": _l("Earned"), "redeem": _l("Redeemed"), "expire": _l("Expired"),
               "reverse": _l("Reversed (refund)"), "adjust": _l("Adjusted")}
COUPON_KINDS = {"amount": _l("Amount off"), "percent": _l("Percent off"), "gift": _l("Gift")}
ISSUERS = {"rule": _l("Automation rule"), "campaign": _l("Campaign"), "staff": _l("Staff")}
SV_KINDS = {"topup": _l("Top-up"), "bonus": _l("Top-up bonus"), "spend": _l("Payment"), "refund": _l("Refund to card"),
            "topup_refund": _l("Top-up refunded"), "clawback": _l("Bonus clawed back")}
METHODS = {"cash": _l("Cash"), "wechat_pay": _l("WeChat Pay"), "alipay": _l("Alipay"), "bank_card": _l("Bank card"),
           "transfer": _l("Bank transfer"), "stored_value": _l("Stored value")}
TOPUP_METHODS = ("cash", "wechat_pay", "alipay", "bank_card", "transfer")
TILL_METHODS = ("cash", "wechat_pay", "alipay", "bank_card")


def label(mapping, code):
    return mapping.get(code, code and "—")
