"""WeChat Pay API v3 through `wechatpayv3` (the SDK WeChat Pay's docs list for Python): it signs each request
(Authorization `WECHATPAY2-SHA256-RSA2048`), verifies each response and notification against the WeChat Pay public
key, and decrypts notifications (AEAD_AES_256_GCM with the APIv3 key). We use its public-key mode (商户平台 →
API安全 → 微信支付公钥): the older platform-certificate mode would download certificates when the client is built.

Its gateway is `Core._gate_way`; WECHATPAY_API_BASE (tests: a local fake) replaces it."""
from __future__ import annotations

import json
import re

from flask import current_app
from flask_babel import gettext as _
from wechatpayv3 import WeChatPay, WeChatPayType

from storecrm.sdk import plugin_settings

REQUIRED = ("mchid", "app_id", "merchant_serial_no", "merchant_private_key", "apiv3_key", "platform_public_key_id",
            "platform_public_key")


class PayError(RuntimeError):
    """WeChat Pay refused or could not be reached; `message` is for people (the user's language)."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(f"{code}: {message}" if code else message)
        self.message, self.code = message, code


def explain(code: str, message: str = "") -> str:
    known = {
        "SIGN_ERROR": _("WeChat Pay rejected the request signature: check the merchant certificate serial number "
                        "and private key."),
        "MCH_NOT_EXISTS": _("The merchant number does not exist."),
        "APPID_MCHID_NOT_MATCH": _("The AppID is not bound to this merchant number."),
        "INVALID_REQUEST": _("WeChat Pay found the request invalid: %(msg)s", msg=message),
        "PARAM_ERROR": _("WeChat Pay found a parameter wrong: %(msg)s", msg=message),
        "ORDERPAID": _("This payment has been paid already."),
        "NOT_ENOUGH": _("The merchant account's balance is not enough for the refund."),
        "SYSTEM_ERROR": _("WeChat Pay is busy; try again shortly."),
        "FREQUENCY_LIMITED": _("Too many requests to WeChat Pay; try again shortly."),
    }
    return known.get(code, _("WeChat Pay refused the request (%(code)s: %(msg)s).", code=code, msg=message))


def configured() -> bool:
    settings = plugin_settings("wechat_pay")
    return all(settings.get(key) for key in REQUIRED)


def pem_body(text: str) -> str:
    """A PEM key as the SDK takes it: the base64 body in 64-character lines. A key pasted into a one-line password
    input arrives without its line breaks, which PEM needs."""
    body = re.sub(r"-----(BEGIN|END) [A-Z ]+-----|\s+", "", text or "")
    return "\n".join(body[i:i + 64] for i in range(0, len(body), 64))


def client(notify_url: str | None = None) -> WeChatPay:
    settings = plugin_settings("wechat_pay")
    if not configured():
        raise PayError(_("Enter the merchant number, AppID, API certificate, APIv3 key and WeChat Pay public key "
                         "first."), "config")
    try:
        pay = WeChatPay(wechatpay_type=WeChatPayType.JSAPI, mchid=settings["mchid"],
                        private_key=pem_body(settings["merchant_private_key"]), cert_serial_no=settings["merchant_serial_no"],
                        appid=settings["app_id"], apiv3_key=settings["apiv3_key"], notify_url=notify_url,
                        public_key=pem_body(settings["platform_public_key"]), public_key_id=settings["platform_public_key_id"],
                        timeout=(5, 15))
    except Exception as exc:  # the SDK raises a bare Exception for a key it cannot read
        raise PayError(_("The merchant private key or the WeChat Pay public key cannot be read: paste the whole "
                         "PEM file."), "config") from exc
    pay._core._gate_way = (current_app.config.get("WECHATPAY_API_BASE") or "https://api.mch.weixin.qq.com").rstrip("/")
    return pay


def call(fn, **kwargs) -> dict:
    """Run one SDK call; its (status, text) becomes the JSON answer or a PayError in the user's language."""
    try:
        status, text = fn(**kwargs)
    except PayError:
        raise
    except Exception as exc:  # network errors, a response whose signature does not verify
        if "verify the signature" in str(exc):
            raise PayError(_("WeChat Pay's answer failed the signature check: check the WeChat Pay public key and "
                             "its ID."), "verify") from exc
        raise PayError(_("WeChat Pay could not be reached: %(err)s", err=type(exc).__name__), "network") from exc
    try:
        data = json.loads(text) if text else {}
    except (TypeError, ValueError):
        data = {}
    if status >= 300:
        raise PayError(explain(data.get("code", str(status)), data.get("message", "")), data.get("code", str(status)))
    return data
