"""Acceptance, on a phone in zh_CN with WeChat's browser: a member opens their member page inside WeChat (fake
sign-in) → is bound by openid → tops up stored value with WeChat Pay (JSAPI: the fake pays and sends the signed,
encrypted notification) → the top-up notice arrives as a template message (fake Official Account).
Screenshots under $STORECRM_SHOTS (default /tmp/shots/wechat)."""
import base64
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import text

from storecrm.sdk import AUTOMATION
from storecrm.testing import run_jobs
from wechat_pay_testkit import MERCHANT_KEY, configure_pay, fake_pay  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "wechat_oa" / "tests"))
from wechat_oa_testkit import OPENID, configure, fake_wechat  # noqa: E402,F401

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("STORECRM_SHOTS", "/tmp/shots/wechat"))
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN")
pytestmark = [pytest.mark.storecrm_plugins("retail", "wechat_oa", "wechat_pay"),
              pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
                                 reason="Debian chromium is not installed")]

# WeChat's browser gives pages WeixinJSBridge; Chromium does not. This stand-in records what the page asks for and
# answers "ok" the way WeChat does once the customer has confirmed with their PIN.
BRIDGE = """
window.__wxpay = [];
window.WeixinJSBridge = {invoke: function (name, params, done) {
  window.__wxpay.push({name: name, params: params});
  setTimeout(function () { done({err_msg: "get_brand_wcpay_request:ok"}); }, 10);
}};
"""


@pytest.fixture
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = app.config.get("SERVER_NAME")
    app.config["SERVER_NAME"] = None
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.config["SERVER_NAME"] = old


@pytest.fixture
def wechat_phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                      has_touch=True, device_scale_factor=2, user_agent=WECHAT_UA)
        context.add_init_script(BRIDGE)
        yield context.new_page()
        context.close()
        browser.close()


def _verify_pay_sign(params) -> None:
    """What WeChat checks before it shows the payment sheet: paySign over appId, timeStamp, nonceStr, package."""
    message = "\n".join([params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]) + "\n"
    MERCHANT_KEY.public_key().verify(base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())


def test_a_member_binds_wechat_tops_up_with_wechat_pay_and_gets_the_notice(
        make_tenant, in_tenant, login, live_server, wechat_phone, fake_wechat, fake_pay, system_db):
    from storecrm.plugins.retail import members, tokens

    SHOTS.mkdir(parents=True, exist_ok=True)
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    configure_pay(login, alpha)
    with in_tenant(alpha):
        member = members.register(AUTOMATION, {"name": "王女士", "mobile": "13900001111", "store_id": alpha.stores[0],
                                               "consent": True}, source="till")
        card = f"{live_server}/t/alpha/retail/card/{tokens.make(tokens.CARD, member.id)}"
        member_id, customer_id = member.id, member.customer_id
    page = wechat_phone

    # 1. opened inside WeChat: sent through WeChat's sign-in (fake, silent snsapi_base) and back, bound by openid
    page.goto(card)
    page.wait_for_selector('[data-testid="topup-online"]')
    assert page.url.split("#")[0] == card        # the browser keeps WeChat's #wechat_redirect fragment
    with system_db.connect() as conn:
        bound = conn.execute(text("SELECT customer_id, value FROM customer_identities WHERE kind = 'wechat_openid'")).all()
    assert bound == [(customer_id, OPENID)]
    page.screenshot(path=str(SHOTS / "1-member-page-in-wechat.png"), full_page=True)

    # 2. top up: choose ¥500, WeChat Pay's sheet (the bridge) gets a correctly signed JSAPI request
    page.click('[data-testid="topup-online"]')
    page.wait_for_selector("#pay-submit")
    assert "储值充值" in page.content()
    page.screenshot(path=str(SHOTS / "2-choose-amount.png"), full_page=True)
    page.click('button[name="amount"][value="500"]')
    page.wait_for_selector("#waiting")
    page.wait_for_function("window.__wxpay && window.__wxpay.length > 0")
    request = page.evaluate("window.__wxpay[0]")
    assert request["name"] == "getBrandWCPayRequest"
    _verify_pay_sign(request["params"])
    page.screenshot(path=str(SHOTS / "3-paying.png"), full_page=True)
    out_trade_no, order = next(iter(fake_pay.orders.items()))
    assert request["params"]["package"].startswith("prepay_id=wx2026") and order["payer"]["openid"] == OPENID

    # 3. WeChat Pay notifies (signed, encrypted) — twice, as it does when unsure; the page sees the payment
    for _ in range(2):
        assert fake_pay.deliver(fake_pay.pay(out_trade_no)).status_code == 200
    page.wait_for_selector("#paid", timeout=15000)
    page.screenshot(path=str(SHOTS / "4-paid.png"), full_page=True)

    # 4. the notice goes out as the Official Account's template message; the card shows the new balance
    run_jobs()
    notices = [m for m in fake_wechat.sent if m["template_id"] == "TplTopup01"]
    assert len(notices) == 1 and notices[0]["touser"] == OPENID
    assert notices[0]["data"]["amount2"] == {"value": "500.00"} and notices[0]["data"]["amount3"] == {"value": "550.00"}
    page.click("#back")
    page.wait_for_selector('[data-testid="my-stored"]')
    assert "550.00" in page.inner_text('[data-testid="my-stored"]')
    page.screenshot(path=str(SHOTS / "5-balance.png"), full_page=True)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT stored_balance FROM retail_members WHERE id = :m"),
                            {"m": member_id}).scalar() == 550


def test_the_channel_admin_pages_read_in_chinese_on_a_phone(make_tenant, in_tenant, login, live_server, wechat_phone,
                                                             fake_wechat, fake_pay):
    """The admin's view: the Official Account page (a failed delivery with its Chinese reason), the WeChat Pay page,
    a 0.01 test order's QR code and the settings form; no English left on them."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    configure_pay(login, alpha)
    from storecrm.sdk import send_message

    with in_tenant(alpha):
        send_message("wechat", OPENID, "问卷邀请", "请评价本次服务",
                     payload={"template": "survey.invitation", "params": {"name": "王女士"}})
    run_jobs()
    page = wechat_phone
    page.goto(f"{live_server}/t/alpha/login")
    page.fill("#login", alpha.emails["admin"])
    page.fill("#password", "correct-horse-battery")
    page.click('[data-testid="login-submit"]')
    page.wait_for_load_state()
    for name, path in (("6-admin-wechat-oa", "/t/alpha/wechat/"), ("7-admin-wechat-pay", "/t/alpha/wechat-pay/"),
                       ("9-settings-wechat-pay", "/t/alpha/modules/wechat_pay/settings")):
        page.goto(live_server + path)
        body = page.inner_text("main") if page.query_selector("main") else page.inner_text("body")
        assert "Not set" not in body and "Recent" not in body and "Send test" not in body
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.goto(live_server + "/t/alpha/wechat/")
    assert "未映射到微信模板消息" in page.inner_text("body")
    page.goto(live_server + "/t/alpha/wechat-pay/")
    page.click("text=创建 0.01 元测试订单")
    page.wait_for_selector(".wechat-qr svg")
    page.screenshot(path=str(SHOTS / "8-test-order-qr.png"), full_page=True)
