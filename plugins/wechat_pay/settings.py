"""Tenant settings of WeChat Pay (API v3, 直连商户): from 商户平台 → 账户中心 → API安全 (API certificate serial
number and private key, APIv3 key, WeChat Pay public key and its ID) and the Official Account's AppID."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class WechatPaySettings(Schema):
    mchid = fields.String(load_default="", validate=validate.Regexp(r"^(\d{8,12})?$", error=_l(
        "A merchant number (商户号) has 8-12 digits.")), metadata={"label": _l("Merchant number (商户号)")})
    app_id = fields.String(load_default="", validate=validate.Regexp(r"^(wx[0-9a-zA-Z]{16})?$", error=_l(
        "An AppID is \"wx\" followed by 16 letters or digits.")),
        metadata={"label": _l("AppID of the Official Account the merchant is bound to")})
    merchant_serial_no = fields.String(load_default="", validate=validate.Regexp(r"^([0-9A-Fa-f]{8,64})?$", error=_l(
        "The certificate serial number is hexadecimal.")), metadata={"label": _l("Merchant API certificate serial number")})
    merchant_private_key = fields.String(load_default="", validate=validate.Length(max=5000), metadata={
        "label": _l("Merchant API private key (apiclient_key.pem)"), "secret": True})
    apiv3_key = fields.String(load_default="", validate=validate.Regexp(r"^([0-9A-Za-z]{32})?$", error=_l(
        "The APIv3 key has exactly 32 letters or digits.")), metadata={"label": _l("APIv3 key"), "secret": True})
    platform_public_key_id = fields.String(load_default="", validate=validate.Length(max=80),
                                           metadata={"label": _l("WeChat Pay public key ID (PUB_KEY_ID_…)")})
    platform_public_key = fields.String(load_default="", validate=validate.Length(max=3000), metadata={
        "label": _l("WeChat Pay public key (pub_key.pem)"), "multiline": True})
