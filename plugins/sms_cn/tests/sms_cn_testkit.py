"""Fake Aliyun SMS and Tencent Cloud SMS servers for the tests (no network).

Each is a small WSGI app in a thread (werkzeug's make_server) that checks every request's signature the way the
provider documents it, written here from the documentation rather than from the SDK:
- Aliyun V3 (ACS3-HMAC-SHA256, help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature):
  canonical request = method, path, sorted RFC 3986 query, the signed headers (lower-cased, trimmed), their names,
  hex SHA-256 of the body (also sent as x-acs-content-sha256); signature = hex HMAC-SHA256 with the AccessKey
  secret over "ACS3-HMAC-SHA256\\n" + hex SHA-256 of the canonical request.
- Tencent TC3-HMAC-SHA256 (cloud.tencent.com/document/api/382/52072): canonical request over content-type and
  host; string to sign with X-TC-Timestamp and the credential scope date/service/tc3_request; key derived
  TC3+SecretKey → date → service → "tc3_request".
A request that fails the check gets the provider's own error, so the SDK raises what it would in production."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

ALIYUN_KEY, ALIYUN_SECRET = "LTAI5tFakeKeyId0001", "fake-aliyun-secret-0001"
TENCENT_ID, TENCENT_KEY = "AKIDfakeSecretId0001", "fake-tencent-secret-0001"


class FakeServer:
    """A WSGI app on 127.0.0.1:<free port> in a daemon thread; `received` keeps every accepted send."""

    def __init__(self):
        self.received: list[dict] = []
        self.outage = False  # answer 500, as a provider in trouble does
        self.requests = 0
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests += 1
        if self.outage:
            return Response("<html>502 Bad Gateway</html>", status=500, content_type="text/html")(environ,
                                                                                                   start_response)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def close(self):
        self._server.shutdown()


def _json(data, status=200):
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type="application/json")


class FakeAliyun(FakeServer):
    templates = {"SMS_100001": ("code", "store"), "SMS_100002": ("customer_name", "service", "store", "when", "link")}

    def _error(self, status, code, message):
        return _json({"Code": code, "Message": message, "RequestId": "fake-req", "HostId": "dysmsapi.aliyuncs.com"},
                     status)

    def handle(self, request):
        auth = request.headers.get("Authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(p.split("=", 1) for p in rest.split(","))
        except ValueError:
            return self._error(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        if algorithm != "ACS3-HMAC-SHA256":
            return self._error(400, "IncompleteSignature", "Unsupported signature algorithm.")
        if parts.get("Credential") != ALIYUN_KEY:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        body = request.get_data()
        if request.headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            return self._error(400, "IncompleteSignature", "x-acs-content-sha256 does not match the body.")
        signed = parts.get("SignedHeaders", "").split(";")
        if not {"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"} <= set(signed):
            return self._error(400, "IncompleteSignature", "Required headers are not signed.")
        query = sorted(parse_qsl(request.query_string.decode(), keep_blank_values=True))
        canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in query)
        canonical_headers = "".join(f"{h}:{request.headers.get(h, '').strip()}\n" for h in signed)
        canonical = "\n".join([request.method, request.path or "/", canonical_query, canonical_headers,
                               ";".join(signed), hashlib.sha256(body).hexdigest()])
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(ALIYUN_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            return self._error(400, "SignatureDoesNotMatch",
                               "Specified signature is not matched with our calculation.")
        if request.headers.get("x-acs-action") != "SendSms":
            return self._error(400, "InvalidAction.NotFound", "Specified api is not found.")
        args = dict(query)
        phone = args.get("PhoneNumbers", "")
        if not (len(phone) == 11 and phone.startswith("1") and phone.isdigit()):
            return _json({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid mobile number", "RequestId": "r"})
        wanted = self.templates.get(args.get("TemplateCode", ""))
        if wanted is None:
            return _json({"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "该账号下找不到对应模板", "RequestId": "r"})
        params = json.loads(args.get("TemplateParam") or "{}")
        if set(wanted) - set(params):
            return _json({"Code": "isv.TEMPLATE_MISSING_PARAMETERS", "Message": "模版缺少变量", "RequestId": "r"})
        biz_id = f"{900000 + len(self.received)}^0"
        self.received.append({"phone": phone, "sign": args.get("SignName"), "template": args["TemplateCode"],
                              "params": params, "out_id": args.get("OutId"), "biz_id": biz_id})
        return _json({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "fake-req"})


class FakeTencent(FakeServer):
    templates = {"1100001": 2, "1100002": 5}

    def _error(self, code, message):
        return _json({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "fake-req"}})

    def handle(self, request):
        auth = request.headers.get("Authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            secret_id, date, service, terminator = parts["Credential"].split("/")
        except (ValueError, KeyError):
            return self._error("AuthFailure.InvalidAuthorization", "Authorization is not valid.")
        if algorithm != "TC3-HMAC-SHA256" or terminator != "tc3_request" or parts.get("SignedHeaders") != "content-type;host":
            return self._error("AuthFailure.InvalidAuthorization", "Authorization is not valid.")
        if secret_id != TENCENT_ID:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = int(request.headers.get("X-TC-Timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "Signature expired.")
        if datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d") != date:
            return self._error("AuthFailure.SignatureFailure", "The credential date does not match the timestamp.")
        body = request.get_data()
        canonical = "\n".join(["POST", "/", "", f"content-type:{request.headers.get('Content-Type')}\n"
                               f"host:{request.headers.get('Host')}\n", "content-type;host",
                               hashlib.sha256(body).hexdigest()])
        scope = f"{date}/{service}/tc3_request"
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])

        def sign(key, msg):
            return hmac.new(key, msg.encode(), hashlib.sha256).digest()

        key = sign(sign(sign(("TC3" + TENCENT_KEY).encode(), date), service), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        if request.headers.get("X-TC-Action") != "SendSms" or service != "sms":
            return self._error("InvalidAction", "Action not found.")
        args = json.loads(body)
        phone = args["PhoneNumberSet"][0]
        if not (phone.startswith("+861") and len(phone) == 14):
            status = {"Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "incorrect number"}
        elif args.get("TemplateId") not in self.templates:
            status = {"Code": "FailedOperation.TemplateIncorrectOrUnapproved", "Message": "template unapproved"}
        elif len(args.get("TemplateParamSet") or []) != self.templates[args["TemplateId"]]:
            status = {"Code": "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "Message": "param mismatch"}
        else:
            serial = f"2433:{800000 + len(self.received)}"
            self.received.append({"phone": phone, "sign": args.get("SignName"), "template": args["TemplateId"],
                                  "params": args.get("TemplateParamSet"), "app": args.get("SmsSdkAppId"),
                                  "session": args.get("SessionContext"), "serial": serial})
            status = {"Code": "Ok", "Message": "send success", "SerialNo": serial}
        status.update({"PhoneNumber": phone, "Fee": 1, "SessionContext": args.get("SessionContext", ""),
                       "IsoCode": "CN"})
        status.setdefault("SerialNo", "")
        return _json({"Response": {"SendStatusSet": [status], "RequestId": "fake-req"}})


def configure(admin, slug, *, provider="aliyun", key=None, secret=None, mappings=None):
    """Credentials and a template map saved through the tenant's pages, as its admin would (`admin`: a logged-in
    Browser)."""
    resp = admin.post(f"/t/{slug}/modules/sms_cn/settings", {
        "provider": provider,
        "access_key_id": key or (ALIYUN_KEY if provider == "aliyun" else TENCENT_ID),
        "access_key_secret": secret or (ALIYUN_SECRET if provider == "aliyun" else TENCENT_KEY),
        "sign_name": "星光汽车", "tencent_sdk_app_id": "1400000001", "tencent_region": "ap-guangzhou"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    if mappings is None:
        mappings = ({"appointment.code": ("SMS_100001", ""), "appointment.booked": ("SMS_100002", "")}
                    if provider == "aliyun" else
                    {"appointment.code": ("1100001", "code,store"), "appointment.booked": ("1100002", "")})
    form = {}
    for code, (template, names) in mappings.items():
        form[f"template-{code}"], form[f"names-{code}"] = template, names
    resp = admin.post(f"/t/{slug}/sms-cn/templates", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
