"""Words for the codes stored by the dealership (never print a code on a page)."""
from flask_babel import lazy_gettext as _l

STATE_LABELS = {"reception": _l("Received"), "dispatched": _l("Dispatched"), "in_progress": _l("In the workshop"),
                "qc": _l("Waiting for QC"), "ready": _l("Ready for delivery"), "delivered": _l("Delivered"),
                "cancelled": _l("Cancelled")}
PAYER_LABELS = {"customer": _l("Customer"), "insurer": _l("Insurer"), "warranty": _l("Warranty claim"),
                "internal": _l("Internal")}
LINE_KIND_LABELS = {"labour": _l("Labour"), "part": _l("Part")}
CATEGORY_LABELS = {"engine": _l("Engine"), "electrical": _l("Electrical"), "chassis": _l("Chassis and brakes"),
                   "body": _l("Body and paint"), "air_con": _l("Air conditioning"), "maintenance": _l("Maintenance"),
                   "other": _l("Other")}
GRIEVANCE_LABELS = {"attitude": _l("Attitude"), "quality": _l("Quality"), "waiting": _l("Waiting time"),
                    "facility": _l("Facilities"), "price": _l("Price"), "other": _l("Other")}
PAYMENT_METHOD_LABELS = {"wechat_pay": _l("WeChat Pay"), "alipay": _l("Alipay"), "bank_card": _l("Bank card"),
                         "cash": _l("Cash"), "transfer": _l("Bank transfer")}
STATE_COLOURS = {"reception": "secondary", "dispatched": "info", "in_progress": "primary", "qc": "warning",
                 "ready": "success", "delivered": "dark", "cancelled": "light"}


def label(mapping, code):
    value = mapping.get(code)
    return str(value) if value is not None else ""

ADD_ON_LABELS = {"pending": _l("Waiting for the customer"), "approved": _l("Approved"), "declined": _l("Declined")}
