"""WeChat Pay (微信支付, API v3): customers pay orders, deposits on quotes and stored-value top-ups from their phone
(JSAPI inside WeChat, with the openid the Official Account plugin bound) or by scanning a QR code at the till (Native);
notifications are verified, stored once and applied idempotently; refunds; unpaid payments are queried and closed by a
periodic job; a REST API under /api/v1/wechat-pay. A built-in plugin shaped like a
third-party one: it imports only storecrm.sdk."""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from storecrm.sdk import PluginInfo, hookimpl

from . import models  # noqa: F401  (maps the tables when the plugin loads)
from .settings import WechatPaySettings

HERE = Path(__file__).resolve().parent

PLUGIN = PluginInfo(
    name="wechat_pay",
    label={"zh_CN": "微信支付", "en": "WeChat Pay"},
    version="0.1.0",
    core=">=0.1,<1",
    description={"zh_CN": "报价单定金、订单收款与储值充值：微信内支付（JSAPI）、收银台扫码（Native）、支付通知验签解密、退款。",
                 "en": "Order deposits and stored-value top-ups: JSAPI inside WeChat, Native QR at the till, refunds."},
    author="StoreCRM",
    settings_schema=WechatPaySettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)


@hookimpl
def register_permissions():
    from storecrm.sdk import Permission

    group = _l("WeChat Pay")
    return [Permission("wechat_pay.collect", _l("Collect payments by WeChat Pay QR code"), group),
            Permission("wechat_pay.manage", _l("Set up WeChat Pay, see payments and refund"), group)]


@hookimpl
def register_default_grants():
    return {"admin": ["wechat_pay.collect", "wechat_pay.manage"],
            "manager": ["wechat_pay.collect", "wechat_pay.manage"], "advisor": ["wechat_pay.collect"]}


@hookimpl
def register_nav_items():
    from storecrm.sdk import NavItem

    return [NavItem("wechat_pay.admin", _l("WeChat Pay"), "qr-code", "wechat_pay.manage", 81, "admin")]


@hookimpl
def register_blueprints():
    from .views import bp, public

    return [bp, public]


@hookimpl
def online_payment_url(purpose, reference_id, customer, amount, return_url):
    from flask import url_for

    from .client import configured
    from .payments import to_fen
    from .tokens import PAY, make

    if not configured() or customer is None:
        return None
    fixed = to_fen(amount) if amount is not None else 0
    return url_for("wechat_pay_public.pay", token=make(PAY, purpose, reference_id, customer.id, fixed, return_url))


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]


@hookimpl
def register_periodic_jobs():
    from storecrm.sdk import PeriodicJob

    from .payments import sweep

    # every 5 minutes: payments unpaid for 5 minutes are queried (a lost notification is booked), those unpaid after
    # 2 hours are closed so the customer cannot pay them later
    return [PeriodicJob("wechat_pay_unpaid", "*/5 * * * *", sweep)]


@hookimpl
def online_payment_refund(method, reference, amount, reason):
    if method != "wechat_pay" or not reference:
        return None
    from .payments import refund_by_transaction

    return refund_by_transaction(reference, amount, reason) or None


@hookimpl
def till_payment_url(purpose, reference_id, amount):
    from flask import url_for

    from .client import configured

    if purpose != "sales.quote_deposit" or not configured():
        return None
    return url_for("wechat_pay.collect_quote", quote_id=reference_id)
