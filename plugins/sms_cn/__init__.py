"""SMS (China): the tenant's texts through Aliyun SMS or Tencent Cloud SMS, as approved templates.

One plugin with a provider choice rather than one plugin per provider: both would provide the channel "sms", and a
tenant sends through one provider at a time; the template map, the delivery log, the receipts and the admin page
are the same for both. Enabling it replaces the core's logging "sms" channel for that tenant."""
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from storecrm.sdk import NavItem, NotificationChannel, Permission, PluginInfo, hookimpl

# pytest's package collector imports this file a second time as `plugins.sms_cn`; only the installed name maps
# the tables, so they are never defined twice on the metadata.
if __name__ == "storecrm.plugins.sms_cn":
    from . import models  # noqa: F401

HERE = Path(__file__).resolve().parent


class SmsCnSettings(Schema):
    provider = fields.String(load_default="aliyun", validate=validate.OneOf(
        ["aliyun", "tencent"], labels=[_l("Aliyun SMS"), _l("Tencent Cloud SMS")]),
        metadata={"label": _l("Provider")})
    access_key_id = fields.String(load_default="", validate=validate.Length(max=128),
                                  metadata={"label": _l("AccessKey ID / SecretId")})
    access_key_secret = fields.String(load_default="", validate=validate.Length(max=256),
                                      metadata={"label": _l("AccessKey Secret / SecretKey"), "secret": True})
    sign_name = fields.String(load_default="", validate=validate.Length(max=40),
                              metadata={"label": _l("Sign name (approved, without 【】)")})
    tencent_sdk_app_id = fields.String(load_default="", validate=validate.Length(max=40),
                                       metadata={"label": _l("Tencent SmsSdkAppId")})
    tencent_region = fields.String(load_default="ap-guangzhou", validate=validate.Length(max=40),
                                   metadata={"label": _l("Tencent region")})


PLUGIN = PluginInfo(
    name="sms_cn",
    label={"zh_CN": "短信通道（阿里云/腾讯云）", "en": "SMS (Aliyun / Tencent Cloud)"},
    version="1.0.0",
    core=">=0.1,<1",
    description={"zh_CN": "通过阿里云短信或腾讯云短信发送验证码、预约提醒等，使用审核通过的模板，记录运营商回执。",
                 "en": "Texts (codes, reminders …) through Aliyun or Tencent Cloud SMS as approved templates, with "
                       "carrier receipts."},
    author="StoreCRM",
    settings_schema=SmsCnSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)


@hookimpl
def register_permissions():
    return [Permission("sms_cn.manage", _l("Set up the SMS channel and see its deliveries"), _l("SMS (China)"))]


@hookimpl
def register_default_grants():
    return {"admin": ["sms_cn.manage"]}


@hookimpl
def register_nav_items():
    return [NavItem("sms_cn.index", _l("SMS (China)"), "chat-dots", "sms_cn.manage", 80, section="admin")]


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_notification_channels():
    from .services import deliver

    return [NotificationChannel("sms", _l("SMS (Aliyun / Tencent Cloud)"), deliver)]


@hookimpl
def customer_erasure(customer):
    """The delivery log keeps numbers (test texts have no outbox message to cascade from): erase theirs."""
    from .services import erase_number

    erase_number(customer.mobile)


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]
