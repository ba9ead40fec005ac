"""The offline till: a till verifies the signed member pass with the key it fetched (no network), accepts capped
points and a coupon, and its upload is reconciled exactly once — a replay changes nothing, a pass used twice or a
coupon used at two tills is rejected for the second sale and reported."""
import base64
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from storecrm.sdk import db, utcnow

from storecrm.plugins.retail import coupons, offline
from storecrm.plugins.retail.models import Member, OfflineTransaction
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")


def _till_key(client, headers) -> bytes:
    body = client.get("/api/v1/retail/offline/key", headers=headers).get_json()
    assert body["algorithm"] == "HMAC-SHA256" and body["qr_minutes"] == 5 and body["points_cap"] == 500
    return base64.urlsafe_b64decode(body["key"] + "=" * (-len(body["key"]) % 4))


def _sale(qr, *, points=0, coupon=None, key=None, at=None):
    return {"key": key or str(uuid.uuid4()), "qr": qr, "accepted_at": (at or utcnow()).isoformat(), "points": points,
            "coupon_code": coupon, "receipt_no": "R-0001"}


def test_a_till_verifies_the_pass_offline_and_the_upload_is_reconciled_once(two_tenants, in_tenant, api_token, app,
                                                                            system_db):
    alpha, beta = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        buy(alpha, m, "800.00")                                      # 800 points
        welcome = coupons.coupons_of(m.id)[0][0].code
        qr, expires = offline.issue_pass(m)
        other_qr, _ = offline.issue_pass(m)                          # the page renewed: a second pass
    with in_tenant(beta):
        beta_qr, _ = offline.issue_pass(member(beta, 1))
    client, headers = app.test_client(), api_token(alpha, "advisor")
    key = _till_key(client, headers)
    # what the till does with no network: the signature under its key, the expiry, the cap and the coupons
    payload = offline.verify(qr, key)
    assert payload["m"] == m.member_no and payload["p"] == 500 and welcome in payload["c"]
    assert payload["e"] == int(expires.timestamp()) and expires - utcnow() <= timedelta(minutes=5)
    assert offline.verify(qr[:-2] + ("AA" if not qr.endswith("AA") else "BB"), key) is None       # tampered
    assert offline.verify(beta_qr, key) is None                      # another tenant's pass: another key
    first = _sale(qr, points=300, coupon=welcome)
    upload = {"till": "JA01-1", "store_id": alpha.stores[0], "transactions": [first]}
    resp = client.post("/api/v1/retail/offline/transactions", json=upload, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["results"] == [{"key": first["key"], "status": "applied", "reason": None, "replayed": False}]
    # the till retries the same upload (the answer got lost): nothing changes
    again = client.post("/api/v1/retail/offline/transactions", json=upload, headers=headers).get_json()
    assert again["results"][0] == {"key": first["key"], "status": "applied", "reason": None, "replayed": True}
    # a second till got the same coupon on the renewed pass; and the first pass was shown again for another sale
    second = _sale(other_qr, coupon=welcome)
    reused = _sale(qr, points=10)
    over = _sale(other_qr, points=501)
    results = client.post("/api/v1/retail/offline/transactions", headers=headers, json={
        "till": "XJH2-1", "store_id": alpha.stores[0], "transactions": [second, reused, over]}).get_json()["results"]
    assert [(r["status"], r["reason"]) for r in results] == [
        ("rejected", "coupon_used"), ("rejected", "qr_reused"), ("rejected", "over_cap")]
    with in_tenant(alpha):
        assert db.session.get(Member, (alpha.id, m.id)).points_balance == 500      # 800 - 300, once
        assert coupons.by_code(welcome).redeemed_at is not None
        assert db.session.scalar(select(func.count()).select_from(OfflineTransaction)) == 4
        assert [r.reason for r in offline.listing("rejected")] == ["over_cap", "qr_reused", "coupon_used"]
    with system_db.connect() as conn:                              # each rejection reported to the store's manager
        assert conn.execute(text("SELECT count(*) FROM notifications WHERE title LIKE 'Offline sale rejected%'")).scalar() == 3
    listed = client.get("/api/v1/retail/offline/transactions?status=rejected", headers=headers).get_json()
    assert len(listed) == 3


def test_expired_forged_and_malformed_uploads(two_tenants, in_tenant, api_token, app):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        buy(alpha, m, "100.00")
        old_qr, expires = offline.issue_pass(m, now=utcnow() - timedelta(minutes=30))
    client, headers = app.test_client(), api_token(alpha, "advisor")
    late = _sale(old_qr, points=10, at=expires + timedelta(minutes=5))
    forged = _sale("SC1.eyJtIjoiMSJ9.AAAA", points=10)
    results = client.post("/api/v1/retail/offline/transactions", headers=headers, json={
        "till": "JA01-1", "store_id": alpha.stores[0], "transactions": [late, forged]}).get_json()["results"]
    assert [r["reason"] for r in results] == ["expired", "bad_signature"]
    # a malformed upload is a 422 with the field, and writes nothing
    bad = client.post("/api/v1/retail/offline/transactions", headers=headers, json={
        "till": "JA01-1", "store_id": alpha.stores[0], "transactions": [{"key": "k", "qr": old_qr}]})
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    with in_tenant(alpha):
        assert db.session.scalar(select(func.count()).select_from(OfflineTransaction)) == 2
        assert db.session.get(Member, (alpha.id, m.id)).points_balance == 100
    # a technician (no till permission) cannot fetch the key
    assert client.get("/api/v1/retail/offline/key", headers=api_token(alpha, "technician")).status_code == 403


def test_ten_tills_upload_at_once_each_sale_counts_once(two_tenants, in_tenant, system_db):
    """Five tills upload the same sale (one key) and five upload their own sale with the same coupon on renewed
    passes, all at the same moment: the sale is applied once, the coupon once, the points taken once."""
    import threading

    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        buy(alpha, m, "400.00")
        code = coupons.coupons_of(m.id)[0][0].code
        same = _sale(offline.issue_pass(m)[0], points=100)
        others = [_sale(offline.issue_pass(m)[0], coupon=code) for _ in range(5)]
        store_id, member_id = alpha.stores[0], m.id
    barrier, outcomes = threading.Barrier(10), []

    def upload(sale):
        with in_tenant(alpha):
            barrier.wait()
            outcomes.append(offline.reconcile({"till": "T", "store_id": store_id, "transactions": [sale]})[0])
            db.session.commit()

    threads = [threading.Thread(target=upload, args=(s,)) for s in [same] * 5 + others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 10
    mine = [o for o in outcomes if o["key"] == same["key"]]
    assert [o["replayed"] for o in mine].count(False) == 1 and {o["status"] for o in mine} == {"applied"}
    coupon_results = sorted((o["status"], o["reason"]) for o in outcomes if o["key"] != same["key"])
    assert coupon_results == [("applied", None)] + [("rejected", "coupon_used")] * 4
    with in_tenant(alpha):
        assert db.session.get(Member, (alpha.id, member_id)).points_balance == 300
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM retail_offline_transactions")).scalar() == 6
