"""WeChat Official Account (微信公众号): web sign-in on customers' own pages binding their openid (One-ID identity
`wechat_openid`), template messages as the notification channel "wechat", and the server callback (follow /
unfollow). A built-in plugin shaped like a third-party one: it imports only storecrm.sdk."""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from storecrm.sdk import PluginInfo, hookimpl

from . import models  # noqa: F401  (maps the tables when the plugin loads)
from .settings import WechatOaSettings

HERE = Path(__file__).resolve().parent

PLUGIN = PluginInfo(
    name="wechat_oa",
    label={"zh_CN": "微信公众号", "en": "WeChat Official Account"},
    version="0.1.0",
    core=">=0.1,<1",
    description={"zh_CN": "客户页面微信网页授权绑定 openid、模板消息通知（提醒、预约确认、问卷、积分与优惠券）、服务器回调。",
                 "en": "WeChat sign-in on customer pages (openid binding), template messages, the server callback."},
    author="StoreCRM",
    settings_schema=WechatOaSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)


@hookimpl
def register_permissions():
    from storecrm.sdk import Permission

    return [Permission("wechat_oa.manage", _l("Set up the WeChat Official Account and send test messages"),
                       _l("WeChat Official Account"))]


@hookimpl
def register_default_grants():
    return {"admin": ["wechat_oa.manage"]}


@hookimpl
def register_nav_items():
    from storecrm.sdk import NavItem

    return [NavItem("wechat_oa.admin", _l("WeChat Official Account"), "wechat", "wechat_oa.manage", 80, "admin")]


@hookimpl
def register_blueprints():
    from .views import bp, public

    return [bp, public]


@hookimpl
def register_identity_kinds():
    from storecrm.sdk import IdentityKind

    from .binding import KIND, normalize_openid

    return [IdentityKind(KIND, _l("WeChat openid"), normalize_openid)]


@hookimpl
def register_notification_channels():
    from storecrm.sdk import NotificationChannel

    from .channel import deliver

    return [NotificationChannel("wechat", _l("WeChat template message"), deliver)]


@hookimpl
def public_visitor(customer):
    from .oauth import visitor_redirect

    return visitor_redirect(customer)


@hookimpl
def customer_address(customer, channel):
    """The openid bound to `customer` (One-ID `wechat_openid`) once the account is set up: the core's booking
    confirmations and reminders then also go by WeChat."""
    if channel != "wechat":
        return None
    from storecrm.sdk import plugin_settings

    from .binding import openid_of

    settings = plugin_settings("wechat_oa")
    if not settings.get("app_id") or not settings.get("app_secret"):
        return None
    return openid_of(customer.id)


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]
