"""Tenant settings of the WeChat Official Account (公众号): credentials from 公众平台 → 设置与开发 → 基本配置, and the
mapping of the tenant's message templates to the account's WeChat template messages."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates

from .template_map import parse_template_map


class WechatOaSettings(Schema):
    app_id = fields.String(load_default="", validate=validate.Regexp(r"^(wx[0-9a-zA-Z]{16})?$", error=_l(
        "An AppID is \"wx\" followed by 16 letters or digits.")), metadata={"label": _l("AppID (开发者ID)")})
    app_secret = fields.String(load_default="", validate=validate.Length(max=64),
                               metadata={"label": _l("AppSecret (开发者密码)"), "secret": True})
    server_token = fields.String(load_default="", validate=validate.Regexp(r"^([0-9a-zA-Z]{3,32})?$", error=_l(
        "The server token has 3-32 letters or digits.")), metadata={"label": _l("Server token (令牌)"), "secret": True})
    encoding_aes_key = fields.String(load_default="", validate=validate.Regexp(r"^([0-9a-zA-Z]{43})?$", error=_l(
        "The EncodingAESKey has 43 letters or digits.")), metadata={
        "label": _l("EncodingAESKey (消息加解密密钥, for safe mode)"), "secret": True})
    welcome_text = fields.String(load_default="", validate=validate.Length(max=600), metadata={
        "label": _l("Reply when someone follows the account (关注回复; empty: none)"), "multiline": True})
    oauth_scope = fields.String(load_default="snsapi_base", validate=validate.OneOf(
        ("snsapi_base", "snsapi_userinfo"), error=_l("Choose one of the listed options.")),
        metadata={"label": _l("Web sign-in scope (snsapi_base / snsapi_userinfo)")})
    template_map = fields.String(load_default="", validate=validate.Length(max=4000), metadata={
        "label": _l("Template messages: one line per message template, code = template_id; WeChat field=parameter, … "
                    "(subscribe:template_id for a subscribe message, subscribe_long: for a long-term one)"),
        "multiline": True})

    @validates("template_map")
    def _template_map(self, value, **kwargs):
        try:
            parse_template_map(value)
        except ValueError as err:
            raise ValidationError(str(err)) from None
