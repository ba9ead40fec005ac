"""WeCom (企业微信): staff notifications — a new lead, an overdue escalation, an approval to give, a dispatched
job — as app messages to the staff member's WeCom, beside the bell and email. Staff are bound by their WeCom UserID."""
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from storecrm.sdk import NavItem, NotificationChannel, Permission, PluginInfo, hookimpl

if __name__ == "storecrm.plugins.wecom":
    from . import models  # noqa: F401

HERE = Path(__file__).resolve().parent


class WecomSettings(Schema):
    corp_id = fields.String(load_default="", validate=validate.Length(max=64), metadata={"label": _l("CorpID")})
    agent_id = fields.String(load_default="", validate=validate.Regexp(r"^\d{0,12}$", error=_l("Digits only.")),
                             metadata={"label": _l("AgentId of the app")})
    secret = fields.String(load_default="", validate=validate.Length(max=128),
                           metadata={"label": _l("Secret of the app"), "secret": True})


PLUGIN = PluginInfo(
    name="wecom",
    label={"zh_CN": "企业微信通知", "en": "WeCom notifications"},
    version="1.0.0",
    core=">=0.1,<1",
    description={"zh_CN": "新线索、超时升级、待审批、派工等员工通知通过企业微信应用消息送达。",
                 "en": "Staff notifications (new leads, escalations, approvals, dispatch) as WeCom app messages."},
    author="StoreCRM",
    settings_schema=WecomSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)


@hookimpl
def register_permissions():
    return [Permission("wecom.manage", _l("Set up WeCom and bind staff"), _l("WeCom"))]


@hookimpl
def register_default_grants():
    return {"admin": ["wecom.manage"]}


@hookimpl
def register_nav_items():
    return [NavItem("wecom.index", _l("WeCom"), "wechat", "wecom.manage", 81, section="admin")]


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_notification_channels():
    from .services import deliver, userid_of

    return [NotificationChannel("wecom", _l("WeCom"), deliver, staff_address=userid_of)]


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]
