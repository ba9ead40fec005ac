"""Codes and their words: a page never shows a stored code."""
from flask_babel import lazy_gettext as _l

STATUSES = {
    "new": _l("Awaiting booking"),
    "booked": _l("Booked"),
    "checked_in": _l("Checked in"),
    "installing": _l("Installing"),
    "qc": _l("Awaiting quality check"),
    "acceptance": _l("Awaiting acceptance"),
    "accepted": _l("Accepted"),
    "delivered": _l("Delivered"),
    "cancelled": _l("Cancelled"),
}
OPEN_STATUSES = ("new", "booked", "checked_in", "installing", "qc", "acceptance", "accepted")

TIERS = {"entry": _l("Entry package"), "mid": _l("Mid-range package"), "high": _l("High-end package")}

COMPONENT_KINDS = {
    "head_unit": _l("Head unit"), "speaker": _l("Speaker"), "amplifier": _l("Amplifier"), "dsp": _l("DSP"),
    "subwoofer": _l("Subwoofer"), "deadening": _l("Sound deadening"), "wiring": _l("Wiring"),
}
POSITIONS = {
    "front_left": _l("Front left"), "front_right": _l("Front right"), "rear_left": _l("Rear left"),
    "rear_right": _l("Rear right"), "center": _l("Centre"), "trunk": _l("Trunk"), "dash": _l("Dashboard"),
}
CHANNELS = {"front_left": _l("Front left"), "front_right": _l("Front right"), "rear_left": _l("Rear left"),
            "rear_right": _l("Rear right"), "center": _l("Centre"), "sub": _l("Subwoofer")}

PHOTO_KINDS = {"before": _l("Before"), "wiring": _l("Wiring"), "finished": _l("Finished"),
               "phase_chart": _l("Phase chart")}

CHECKLIST = {
    "disconnect_battery": _l("Battery disconnected"),
    "panels_protected": _l("Panels and seats protected"),
    "wiring_fused": _l("Power wiring fused"),
    "deadening_done": _l("Sound deadening applied"),
    "components_fixed": _l("Components fixed and tested"),
    "panels_refitted": _l("Panels refitted, no rattles"),
}

INSPECTION = {"scratches": _l("Scratches or dents"), "warning_lights": _l("Warning lights on"),
              "electrics": _l("Electrics (windows, lights, horn) work")}

REASONS = {
    "waiting": _l("Long wait for the appointment"),
    "tuning": _l("Tuning not satisfying"),
    "cleanliness": _l("Car not clean"),
    "attitude": _l("Staff attitude"),
    "delay": _l("Delivered late"),
    "price": _l("Price"),
}

MUSIC = ("人声", "流行", "摇滚", "古典", "电子")
BUDGETS = ("1万以下", "1-3万", "3-5万", "5-10万", "10万以上")

QUOTE_STATES = {"draft": _l("Draft"), "sent": _l("Sent to the customer"), "accepted": _l("Accepted by the customer"),
                "declined": _l("Declined"), "expired": _l("Expired")}
