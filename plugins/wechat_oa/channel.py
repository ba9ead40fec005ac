"""The "wechat" notification channel: an outbox message rendered from a message template (`payload["template"]`,
`payload["params"]`) goes out as the Official Account's template message, mapped by the tenant's settings.

Raising hands the message back to the outbox, which retries with backoff (a WeChat outage loses nothing) and keeps
the error, in the tenant's language, on the delivery log."""
from flask_babel import force_locale
from flask_babel import gettext as _

from storecrm.sdk import plugin_settings, tenant_locale

from .client import WechatError, send_template
from .template_map import parse_template_map


def deliver(message) -> None:
    with force_locale(tenant_locale()):
        payload = message.payload or {}
        code = payload.get("template")
        mapping = parse_template_map(plugin_settings("wechat_oa").get("template_map") or "")
        if not code or code not in mapping:
            raise WechatError("template", _(
                "No WeChat template message is mapped to the message template “%(code)s”: add a line for it under "
                "Template messages in the Official Account's settings.", code=code or "—"))
        template_id, fields = mapping[code]
        params = payload.get("params") or {}
        data = {field: params.get(param, "") for field, param in fields.items()}
        msgid = send_template(message.recipient, template_id, data, url=payload.get("link"))
    message.payload = {**payload, "wechat_msgid": msgid}
