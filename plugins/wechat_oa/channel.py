"""The "wechat" notification channel: an outbox message rendered from a message template (`payload["template"]`,
`payload["params"]`) goes out as the Official Account's template message (模板消息) or subscribe message (订阅通知),
as the tenant mapped that template code.

Raising hands the message back to the outbox, which retries with backoff (a WeChat outage loses nothing) and keeps
the error, in the tenant's language, on the delivery log. A subscribe message without the user's consent, or one
WeChat refuses with 43101, is Undeliverable: retrying cannot help."""
from flask_babel import force_locale
from flask_babel import gettext as _

from storecrm.sdk import Undeliverable, plugin_settings, tenant_locale

from . import subscribe
from .client import WechatError, send_subscribe, send_template
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
        template_id, fields, mode = mapping[code]
        params = payload.get("params") or {}
        data = {field: params.get(param, "") for field, param in fields.items()}
        if mode == "template":
            msgid = send_template(message.recipient, template_id, data, url=payload.get("link"))
        else:
            msgid = _send_subscribe(message.recipient, template_id, data, payload.get("link"),
                                    long_term=mode == "subscribe_long")
    message.payload = {**payload, "wechat_msgid": msgid, "wechat_mode": mode}


def _send_subscribe(openid, template_id, data, link, *, long_term: bool) -> str:
    row = subscribe.require_consent(openid, template_id, long_term)
    try:
        msgid = send_subscribe(openid, template_id, data, url=link)
    except WechatError as err:
        if err.errcode == 43101:
            subscribe.refused(openid, template_id)
            raise Undeliverable(str(err)) from err
        raise
    subscribe.spend(row, long_term)
    return msgid
