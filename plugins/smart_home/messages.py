"""The texts smart_home sends to customers, as message templates (reworded by tenants; mapped by template-only SMS
providers)."""
from flask_babel import lazy_gettext as _l

from storecrm.sdk import MessageTemplate

TEMPLATES = (
    MessageTemplate("smart_home.request_code", _l("Service request verification code (SMS)"), ("store", "code"),
                    "验证码", "Verification code",
                    "{store}报修验证码：{code}，10分钟内有效。如非本人操作请忽略。",
                    "{store} repair request code: {code}, valid for 10 minutes. Ignore this if it was not you."),
)
