"""The texts car_audio sends to customers, as message templates (reworded by tenants; mapped by template-only SMS
providers)."""
from flask_babel import lazy_gettext as _l

from storecrm.sdk import MessageTemplate

TEMPLATES = (
    MessageTemplate("car_audio.warranty_ending", _l("Warranty ending soon (SMS to the customer)"),
                    ("name", "item", "system", "day"), "保修即将到期", "Warranty ending",
                    "{name}，您{system}中的{item}保修将于 {day} 到期，欢迎预约到店检测。",
                    "{name}, the warranty of {item} in {system} ends on {day}. Book a check-up now."),
    MessageTemplate("car_audio.warranty_card", _l("Electronic warranty card (SMS to the customer)"),
                    ("name", "item", "serial", "url"), "电子保修卡", "Warranty card",
                    "{name}，您的{item}（序列号 {serial}）电子保修卡：{url}",
                    "{name}, the electronic warranty card of your {item} (serial {serial}): {url}"),
)
