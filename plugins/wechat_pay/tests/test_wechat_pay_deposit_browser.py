"""Acceptance, on a 375 px phone in zh_CN with WeChat's browser: a customer opens the quote's share link inside
WeChat (fake sign-in binds their openid), pays the 30 % deposit with WeChat Pay (JSAPI: the fake pays and notifies,
signed and encrypted), the share page says 已付定金; the staff quote page shows the deposit, and recording the
acceptance carries it to the order. Screenshots under $STORECRM_SHOTS (default /tmp/shots-pay25)."""
import os
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from test_wechat_pay_acceptance import CHROMIUM, _verify_pay_sign, live_server, wechat_phone  # noqa: F401
from wechat_pay_testkit import configure_pay, fake_pay  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "wechat_oa" / "tests"))
from wechat_oa_testkit import OPENID, configure, fake_wechat  # noqa: E402,F401

SHOTS = Path(os.environ.get("STORECRM_SHOTS", "/tmp/shots-pay25"))
pytestmark = [pytest.mark.storecrm_plugins("retail", "wechat_oa", "wechat_pay"),
              pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
                                 reason="Debian chromium is not installed")]


def test_a_customer_pays_a_quote_deposit_inside_wechat_and_it_reaches_the_order(
        make_tenant, in_tenant, login, live_server, wechat_phone, fake_wechat, fake_pay, system_db):
    from storecrm.sales import services as sales

    SHOTS.mkdir(parents=True, exist_ok=True)
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    configure_pay(login, alpha)
    with in_tenant(alpha):
        quote = sales.create_quote(None, {"customer_id": alpha.customers[0], "store_id": alpha.stores[0],
                                          "deposit_pct": Decimal("30"), "lines": [
                                              {"description": "全车隔音套餐", "quantity": Decimal(1),
                                               "unit_price": Decimal("1000.00")}]})
        sales.send_quote(None, quote)
        share, quote_id = f"{live_server}/t/alpha/q/{quote.share_token}", quote.id
    page = wechat_phone

    # 1. inside WeChat: the share link signs the customer in (fake, silent) and offers the deposit
    page.goto(share)
    page.wait_for_selector('[data-testid="pay-deposit"]')
    assert "应付定金：¥300.00" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "1-share-page-in-wechat.png"), full_page=True)

    # 2. pay: the amount is fixed; WeChat Pay's sheet (the bridge) gets a correctly signed JSAPI request
    page.click('[data-testid="pay-deposit"]')
    page.wait_for_selector("#pay-submit")
    assert "报价单定金" in page.content() and "¥300.00" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "2-deposit-to-pay.png"), full_page=True)
    page.click("#pay-submit")
    page.wait_for_selector("#waiting")
    page.wait_for_function("window.__wxpay && window.__wxpay.length > 0")
    request = page.evaluate("window.__wxpay[0]")
    _verify_pay_sign(request["params"])
    out_trade_no, order = next(iter(fake_pay.orders.items()))
    assert order["payer"]["openid"] == OPENID and order["amount"]["total"] == 30000
    for _ in range(2):                                       # WeChat Pay notifies twice when unsure
        assert fake_pay.deliver(fake_pay.pay(out_trade_no)).status_code == 200
    page.wait_for_selector("#paid", timeout=15000)
    page.screenshot(path=str(SHOTS / "3-deposit-paid.png"), full_page=True)

    # 3. back on the share page: 已付定金 ¥300.00, nothing more to pay
    page.click("#back")
    page.wait_for_selector('[data-testid="share-deposit-paid"]')
    assert "已付定金 ¥300.00" in page.inner_text('[data-testid="share-deposit-paid"]')
    assert page.query_selector('[data-testid="pay-deposit"]') is None
    page.screenshot(path=str(SHOTS / "4-share-page-deposit-paid.png"), full_page=True)

    # 4. the store's manager (same phone size) sees it on the quote and records the acceptance
    page.context.clear_cookies()
    page.goto(f"{live_server}/t/alpha/login")
    page.fill("#login", alpha.emails["manager"])
    page.fill("#password", "correct-horse-battery")
    page.click('[data-testid="login-submit"]')
    page.wait_for_load_state()
    page.goto(f"{live_server}/t/alpha/sales/quotes/{quote_id}")
    deposits = page.inner_text('[data-testid="deposits"]')
    assert "已付定金 ¥300.00" in deposits and "微信支付" in deposits and "已收" in deposits
    page.locator('[data-testid="deposits"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "5-staff-quote-deposit.png"), full_page=True)
    page.click("text=记录客户答复")
    page.fill('input[name="name"]', "王先生")
    page.click('button[name="action"][value="accept"]')
    page.wait_for_selector('[data-testid="order-deposits"]')
    assert "报价单已付定金：¥300.00" in page.inner_text('[data-testid="order-deposits"]')
    assert "微信支付" in page.inner_text('[data-testid="payments"]')
    page.screenshot(path=str(SHOTS / "6-order-with-deposit.png"), full_page=True)
    with system_db.connect() as conn:
        rows = conn.execute(text("SELECT method, amount, request_key FROM payments WHERE tenant_id = :t"),
                            {"t": alpha.id}).all()
    assert len(rows) == 1 and rows[0].amount == Decimal("300.00") and rows[0].request_key.startswith("deposit:")


def test_staff_collect_a_deposit_by_qr_query_it_and_give_a_declined_quotes_deposit_back_on_a_phone(
        make_tenant, in_tenant, login, live_server, wechat_phone, fake_pay, system_db):
    """The till's side in zh_CN at 375 px: the quote's *用微信支付二维码收定金* shows the QR; the customer pays but the
    notification is lost — *查询支付状态* books it; the quote is declined and *退还* asks WeChat Pay for the refund."""
    from storecrm.sales import services as sales

    SHOTS.mkdir(parents=True, exist_ok=True)
    alpha = make_tenant("alpha", locale="zh_CN")
    configure_pay(login, alpha)
    with in_tenant(alpha):
        quote = sales.create_quote(None, {"customer_id": alpha.customers[0], "store_id": alpha.stores[0],
                                          "deposit_pct": Decimal("20"), "lines": [
                                              {"description": "智能门锁安装", "quantity": Decimal(1),
                                               "unit_price": Decimal("2000.00")}]})
        sales.send_quote(None, quote)
        quote_id = quote.id
    page = wechat_phone
    page.goto(f"{live_server}/t/alpha/login")
    page.fill("#login", alpha.emails["manager"])
    page.fill("#password", "correct-horse-battery")
    page.click('[data-testid="login-submit"]')
    page.wait_for_load_state()
    page.goto(f"{live_server}/t/alpha/sales/quotes/{quote_id}")
    page.click('[data-testid="deposit-qr"]')
    page.wait_for_selector(".wechat-qr svg")
    body = page.inner_text("body")
    assert "报价单定金" in body and "¥400.00" in body and "查询支付状态" in body and "关闭支付单" in body
    page.screenshot(path=str(SHOTS / "7-till-deposit-qr.png"), full_page=True)
    out_trade_no = next(iter(fake_pay.orders))
    fake_pay.pay(out_trade_no)                               # paid; the notification never arrives
    page.click("text=查询支付状态")
    page.wait_for_selector("text=状态：已支付")
    page.screenshot(path=str(SHOTS / "8-queried-paid.png"), full_page=True)
    with in_tenant(alpha):
        sales.decline_quote(sales.get_quote(None, quote_id), "客户另选方案")
    page.goto(f"{live_server}/t/alpha/sales/quotes/{quote_id}")
    page.fill('[data-testid="deposits"] input[name="reason"]', "客户另选方案")
    page.click('[data-testid="refund-deposit"]')
    page.wait_for_selector("text=已向微信支付申请退款")
    assert "退款中" in page.inner_text('[data-testid="deposits"]')
    page.screenshot(path=str(SHOTS / "9-declined-deposit-refunding.png"), full_page=True)
    (refund,) = fake_pay.refunds.values()
    assert refund["amount"]["refund"] == 40000
