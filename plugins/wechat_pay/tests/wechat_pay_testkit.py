"""A fake WeChat Pay API v3 server in a thread that checks what WeChat Pay checks and signs what it signs:

- every request's Authorization `WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…`
  is verified against the merchant's public key (the message: method, path with query, timestamp, nonce, body);
- every answer carries Wechatpay-Timestamp/Nonce/Serial/Signature, signed with the platform key (the "WeChat Pay
  public key" mode: Wechatpay-Serial is the public key's ID);
- notifications are signed the same way and their resource is AEAD_AES_256_GCM-encrypted with the APIv3 key.

The keys are generated here with `cryptography`; nothing leaves the machine."""
import base64
import itertools
import json
import os
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

MCHID, APP_ID, SERIAL = "1900000109", "wx1234567890abcdef", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
APIV3_KEY, PUBLIC_KEY_ID = "a12d3924fd499edac8a5efc2f5ddbe9b", "PUB_KEY_ID_0114232134912410000000000000"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


MERCHANT_KEY, PLATFORM_KEY = _key(), _key()


def pem_private(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def pem_public(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _sign(key, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(public_key, message: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # noqa: BLE001 — InvalidSignature, bad base64
        return False
    return True


class FakeWechatPay:
    def __init__(self):
        self.orders, self.refunds, self.rejected, self.closes = {}, {}, [], []
        self.merchant_public = MERCHANT_KEY.public_key()
        self.platform_key = PLATFORM_KEY
        self._ids = itertools.count(1)

    # --- WeChat Pay's checks and signatures ----------------------------------------------------------------------
    def _authorized(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return False
        parts = dict(item.split("=", 1) for item in rest.split(",") if "=" in item)
        parts = {k.strip(): v.strip().strip('"') for k, v in parts.items()}
        if parts.get("mchid") != MCHID or parts.get("serial_no") != SERIAL:
            return False
        try:
            if abs(time.time() - int(parts.get("timestamp", "0"))) > 300:
                return False
        except ValueError:
            return False
        path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        message = (f"{request.method}\n{path}\n{parts['timestamp']}\n{parts.get('nonce_str', '')}\n"
                   f"{request.get_data(as_text=True)}\n")
        return _verify(self.merchant_public, message, parts.get("signature", ""))

    def signed_headers(self, body: str) -> dict:
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        return {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": PUBLIC_KEY_ID,
                "Wechatpay-Signature": _sign(self.platform_key, f"{stamp}\n{nonce}\n{body}\n"),
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}

    def _answer(self, data, status=200):
        body = json.dumps(data, ensure_ascii=False)
        return Response(body, status, headers=self.signed_headers(body), content_type="application/json")

    def _answer_empty(self):
        """204 No Content, signed over the empty body, as WeChat Pay answers a close."""
        return Response(b"", 204, headers=self.signed_headers(""))

    def _transaction(self, out_trade_no: str) -> dict:
        """The order as 查询订单 answers it: trade_state NOTPAY, SUCCESS, CLOSED or PAYERROR."""
        order = self.orders[out_trade_no]
        state = ("SUCCESS" if order["paid"] else "CLOSED" if order.get("closed")
                 else "PAYERROR" if order.get("error") else "NOTPAY")
        data = {"appid": APP_ID, "mchid": MCHID, "out_trade_no": out_trade_no, "trade_type": order["kind"].upper(),
                "trade_state": state, "trade_state_desc": {"SUCCESS": "支付成功", "CLOSED": "已关闭",
                                                           "PAYERROR": "支付失败", "NOTPAY": "未支付"}[state],
                "amount": {"total": order["amount"]["total"], "currency": "CNY"}}
        if order["paid"]:
            data.update(transaction_id=order["paid"], success_time=order["paid_at"],
                        payer=order.get("payer") or {"openid": "oNative_payer"},
                        amount={"total": order["amount"]["total"], "payer_total": order["amount"]["total"],
                                "currency": "CNY", "payer_currency": "CNY"})
        return data

    def fail(self, out_trade_no: str):
        """The customer's payment failed (bank refused): a query answers PAYERROR."""
        self.orders[out_trade_no]["error"] = True

    def __call__(self, environ, start_response):
        return self.route(Request(environ))(environ, start_response)

    def route(self, request):
        if not self._authorized(request):
            self.rejected.append(request.path)
            return self._answer({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
        body = json.loads(request.get_data() or b"{}") if request.method == "POST" else {}
        if request.path in ("/v3/pay/transactions/jsapi", "/v3/pay/transactions/native"):
            kind = request.path.rsplit("/", 1)[1]
            missing = [k for k in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount") if not body.get(k)]
            if kind == "jsapi" and not (body.get("payer") or {}).get("openid"):
                missing.append("payer.openid")
            if missing or body["mchid"] != MCHID or body["appid"] != APP_ID:
                return self._answer({"code": "PARAM_ERROR", "message": f"缺少参数 {missing}"}, 400)
            if body["out_trade_no"] in self.orders:
                return self._answer({"code": "INVALID_REQUEST", "message": "商户订单号重复"}, 400)
            self.orders[body["out_trade_no"]] = {**body, "kind": kind, "paid": None}
            n = next(self._ids)
            if kind == "jsapi":
                return self._answer({"prepay_id": f"wx2026{n:020d}"})
            return self._answer({"code_url": f"weixin://wxpay/bizpayurl?pr=fake{n:06d}"})
        prefix = "/v3/pay/transactions/out-trade-no/"
        if request.path.startswith(prefix):
            # 查询订单 (GET …/out-trade-no/{no}?mchid=) and 关闭订单 (POST …/out-trade-no/{no}/close {"mchid"})
            rest = request.path[len(prefix):]
            closing = rest.endswith("/close") and request.method == "POST"
            number = rest.removesuffix("/close") if closing else rest
            mchid = body.get("mchid") if closing else request.args.get("mchid")
            if mchid != MCHID:
                return self._answer({"code": "PARAM_ERROR", "message": "mchid 错误"}, 400)
            order = self.orders.get(number)
            if order is None:
                return self._answer({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, 404)
            if closing:
                self.closes.append(number)
                if order["paid"]:
                    return self._answer({"code": "ORDERPAID", "message": "订单已支付"}, 400)
                order["closed"] = True
                return self._answer_empty()
            return self._answer(self._transaction(number))
        if request.path == "/v3/refund/domestic/refunds":
            order = self.orders.get(body.get("out_trade_no"))
            if order is None or not order["paid"]:
                return self._answer({"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}, 404)
            refund_id = f"50300{next(self._ids):024d}"[:32]
            self.refunds[body["out_refund_no"]] = {**body, "refund_id": refund_id}
            return self._answer({"refund_id": refund_id, "out_refund_no": body["out_refund_no"],
                                 "status": "PROCESSING", "amount": body["amount"]})
        return self._answer({"code": "NOT_FOUND", "message": "not found"}, 404)

    # --- what WeChat Pay sends when the customer has paid -----------------------------------------------------------
    def _notification(self, event_type: str, resource: dict, original_type: str, *, key=APIV3_KEY, stamp=None):
        nonce = secrets.token_hex(6)
        cipher = AESGCM(key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), original_type.encode())
        body = json.dumps({"id": f"EV-{secrets.token_hex(8)}", "create_time": datetime.now(timezone.utc).isoformat(),
                           "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
                           "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                                        "ciphertext": base64.b64encode(cipher).decode(),
                                        "associated_data": original_type, "nonce": nonce}})
        headers = self.signed_headers(body)
        if stamp is not None:                 # an old notification, replayed: its signature covers the old time
            headers["Wechatpay-Timestamp"] = str(stamp)
            headers["Wechatpay-Signature"] = _sign(self.platform_key, f"{stamp}\n{headers['Wechatpay-Nonce']}\n{body}\n")
        return headers, body.encode()

    def pay(self, out_trade_no: str, *, total=None, **options):
        """The customer pays: (notify_url, headers, body) of the signed, encrypted TRANSACTION.SUCCESS."""
        order = self.orders[out_trade_no]
        if order.get("closed"):
            raise RuntimeError("a closed order cannot be paid")
        order["paid"] = order["paid"] or f"42000{next(self._ids):023d}"[:28]
        order.setdefault("paid_at", datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds"))
        resource = {"mchid": MCHID, "appid": APP_ID, "out_trade_no": out_trade_no, "transaction_id": order["paid"],
                    "trade_type": order["kind"].upper(), "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                    "success_time": order["paid_at"],
                    "payer": order.get("payer") or {"openid": "oNative_payer"},
                    "amount": {"total": order["amount"]["total"] if total is None else total,
                               "payer_total": order["amount"]["total"], "currency": "CNY", "payer_currency": "CNY"}}
        return (order["notify_url"], *self._notification("TRANSACTION.SUCCESS", resource, "transaction", **options))

    def refund_done(self, out_refund_no: str):
        refund = self.refunds[out_refund_no]
        order = self.orders[refund["out_trade_no"]]
        resource = {"mchid": MCHID, "out_trade_no": refund["out_trade_no"], "transaction_id": order["paid"],
                    "out_refund_no": out_refund_no, "refund_id": refund["refund_id"], "refund_status": "SUCCESS",
                    "success_time": datetime.now(timezone(timedelta(hours=8))).isoformat(timespec="seconds"),
                    "amount": {"total": refund["amount"]["total"], "refund": refund["amount"]["refund"],
                               "payer_total": refund["amount"]["total"], "payer_refund": refund["amount"]["refund"]}}
        return (refund["notify_url"], *self._notification("REFUND.SUCCESS", resource, "refund"))

    def deliver(self, notification) -> requests.Response:
        """Post a notification to its notify_url over HTTP (a live server), as WeChat Pay does."""
        url, headers, body = notification
        return requests.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=10)


@pytest.fixture
def fake_pay(app):
    fake = FakeWechatPay()
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    before = app.config.get("WECHATPAY_API_BASE")
    fake.url = app.config["WECHATPAY_API_BASE"] = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(5)
        if before is None:
            app.config.pop("WECHATPAY_API_BASE", None)
        else:
            app.config["WECHATPAY_API_BASE"] = before


def pay_settings(**overrides) -> dict:
    return {"mchid": MCHID, "app_id": APP_ID, "merchant_serial_no": SERIAL,
            # as a browser sends it from the one-line password input: the PEM without its line breaks
            "merchant_private_key": pem_private(MERCHANT_KEY).replace("\n", ""), "apiv3_key": APIV3_KEY,
            "platform_public_key_id": PUBLIC_KEY_ID, "platform_public_key": pem_public(PLATFORM_KEY), **overrides}


def configure_pay(login, world, **overrides):
    browser = login(world, "admin")
    resp = browser.post(f"/t/{world.slug}/modules/wechat_pay/settings", pay_settings(**overrides))
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    return browser


def post_notification(client, notification):
    """Post a notification with Flask's test client (the URL's path carries the tenant)."""
    from urllib.parse import urlsplit

    url, headers, body = notification
    return client.post(urlsplit(url).path, data=body, headers={**headers, "Content-Type": "application/json"})
