"""Every page of the plugin in Simplified Chinese for the staff who use it: no message of the plugin's catalog left
in English, no raw codes where a label belongs."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from storecrm.plugins.retail import campaigns, complaints, offline, remedies, tokens, wallet
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")
CATALOG = Path(__file__).resolve().parent.parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
# coupon template codes (WELCOME …) are the tenant's own identifiers, shown like a SKU; these are ours
CODES = ("NORMAL", "SILVER", "wechat_pay", "alipay", "earn", "redeem", "topup", "quality",
         "attitude", "open", "resolved", "staff", "rule", "till", "qr", "amount", "percent", "gift", "waiting",
         "coupon", "refund", "return", "applied", "rejected", "coupon_used", "high_value", "rfm", "view")


def test_pages_read_in_chinese(make_tenant, in_tenant, login, app):
    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha):
        m = member(alpha, 1)
        wallet.top_up(m, {"amount": "600", "method": "wechat_pay"})
        buy(alpha, m, "120.00", stored_value="20")
        campaign = campaigns.create({"name": "会员日", "template": "WINBACK", "control_pct": 50})
        campaigns.launch(campaign)
        complaint = complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0],
                                             "kind": "quality", "description": "掉色"})
        remedies.issue(None, complaint, {"kind": "coupon", "template": "GIFT", "note": "致歉"})
        complaints.wait_for_customer(None, complaint, "请提供照片")
        resolved = complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0],
                                            "kind": "attitude", "description": "态度"})
        complaints.resolve(None, resolved, "已道歉")
        rfm_campaign = campaigns.create({"name": "高价值", "message": "感谢", "segment": "rfm", "rfm": "potential"})
        qr, _expires = offline.issue_pass(m)
        offline.reconcile({"till": "T1", "store_id": alpha.stores[0], "transactions": [
            {"key": "k-00000001", "qr": qr, "accepted_at": "2026-01-01T00:00:00+00:00", "points": 5},
            {"key": "k-00000002", "qr": qr, "accepted_at": "2026-01-01T00:00:00+00:00", "points": 5}]})
        card = tokens.make(tokens.CARD, m.id)
        join = tokens.make(tokens.JOIN, alpha.stores[0])
        member_id, customer_id = m.id, m.customer_id
    with open(CATALOG, "rb") as f:
        english = [msg.id for msg in read_po(f) if msg.id and msg.string and msg.string != msg.id and len(msg.id) > 3
                   and "%(" not in msg.id]
    manager = login(alpha, "manager")
    pages = [f"/t/alpha/retail/", f"/t/alpha/retail/members/{member_id}", "/t/alpha/retail/coupons",
             "/t/alpha/retail/campaigns", f"/t/alpha/retail/campaigns/{campaign.id}", "/t/alpha/retail/complaints",
             f"/t/alpha/retail/complaints/{complaint.id}", f"/t/alpha/retail/complaints/{resolved.id}",
             f"/t/alpha/retail/campaigns/{rfm_campaign.id}", "/t/alpha/retail/offline",
             "/t/alpha/reports/kpis/retail.complaints_per_100_orders?period=month",
             "/t/alpha/reports/kpis/retail.complaint_sla_breach?period=month",
             f"/t/alpha/customers/{customer_id}"]
    public = app.test_client()
    for url, client in [(u, manager) for u in pages] + [(f"/t/alpha/retail/card/{card}", public),
                                                        (f"/t/alpha/retail/card/{card}/offline", public),
                                                        (f"/t/alpha/retail/join/{join}", public)]:
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        visible = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
        texts = {t.strip() for t in re.findall(r">([^<>]+)<", visible) if t.strip()}
        left = [e for e in english if e in texts]
        assert not left, (url, left)
        codes = [c for c in CODES if c in texts]
        assert not codes, (url, codes)
