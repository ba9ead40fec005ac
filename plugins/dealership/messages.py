"""The texts the dealership sends to customers, as message templates (reworded by tenants; mapped by template-only
SMS providers)."""
from flask_babel import lazy_gettext as _l

from storecrm.sdk import MessageTemplate

TEMPLATES = (
    MessageTemplate("dealership.add_on", _l("Extra work found: approve or decline (SMS to the customer)"),
                    ("number", "what", "amount", "link"), "增加作业确认", "Extra work found",
                    "{number}：检查发现需增加作业（{what}，{amount}），请点击确认或拒绝：{link}",
                    "{number}: we found more work ({what}, {amount}). Approve or decline: {link}"),
)
