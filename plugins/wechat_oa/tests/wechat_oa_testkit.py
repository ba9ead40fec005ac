"""A fake WeChat Official Account server (api.weixin.qq.com and open.weixin.qq.com as documented) in a thread, and
helpers to set a tenant up. It checks what WeChat checks: AppID + AppSecret for a token, the current access token on
every call, one-time sign-in codes; it can be switched "down" to answer 503 like an outage."""
import hashlib
import itertools
import json
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

APP_ID, APP_SECRET, SERVER_TOKEN = "wx1234567890abcdef", "s3cret-app-secret-0001", "tok3nForCallback"
OPENID = "oFake_openid_customer_0001"


class FakeWechat:
    def __init__(self, app_id=APP_ID, secret=APP_SECRET):
        self.app_id, self.secret = app_id, secret
        self.tokens_issued, self.sent, self.codes = [], [], {}
        self.down = False
        self.refusing = set()      # openids for which bizsend answers 43101
        self.tickets = []          # jsapi_tickets issued (JS-SDK)
        self.next_openid = OPENID
        self._counter = itertools.count(1)
        self.lock = threading.Lock()

    def _json(self, data, status=200):
        return Response(json.dumps(data, ensure_ascii=False), status, content_type="application/json")

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.route(request)(environ, start_response)

    def route(self, request):
        args = request.args
        if self.down:
            return Response("upstream unavailable", 503)
        if request.path == "/cgi-bin/token":
            if args.get("appid") != self.app_id:
                return self._json({"errcode": 40013, "errmsg": "invalid appid"})
            if args.get("secret") != self.secret:
                return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
            with self.lock:
                token = f"ACCESS_TOKEN_{next(self._counter)}"
                self.tokens_issued.append(token)
            return self._json({"access_token": token, "expires_in": 7200})
        if request.path == "/connect/oauth2/authorize":
            code = f"code{next(self._counter)}"
            self.codes[code] = self.next_openid
            target = args["redirect_uri"] + "?" + urlencode({"code": code, "state": args.get("state", "")})
            return Response("", 302, headers={"Location": target})
        if request.path == "/sns/oauth2/access_token":
            if args.get("appid") != self.app_id or args.get("secret") != self.secret:
                return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
            openid = self.codes.pop(args.get("code", ""), None)
            if openid is None:
                return self._json({"errcode": 40029, "errmsg": "invalid code"})
            return self._json({"access_token": "web-token", "expires_in": 7200, "openid": openid, "scope": "snsapi_base"})
        if request.path == "/cgi-bin/ticket/getticket":
            if not self.tokens_issued or args.get("access_token") != self.tokens_issued[-1]:
                return self._json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            if args.get("type") != "jsapi":
                return self._json({"errcode": 40097, "errmsg": "invalid args"})
            self.tickets.append(f"JSAPI_TICKET_{next(self._counter)}")
            return self._json({"errcode": 0, "errmsg": "ok", "ticket": self.tickets[-1], "expires_in": 7200})
        if request.path == "/cgi-bin/message/subscribe/bizsend":
            # 订阅通知: the same access-token check; 43101 for a user who has not agreed (WeChat keeps its own ledger)
            if not self.tokens_issued or args.get("access_token") != self.tokens_issued[-1]:
                return self._json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            body = json.loads(request.get_data() or b"{}")
            if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
                return self._json({"errcode": 47001, "errmsg": "data format error"})
            if body["touser"] in self.refusing:
                return self._json({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            msgid = next(self._counter)
            self.sent.append({**body, "msgid": msgid, "kind": "subscribe"})
            return self._json({"errcode": 0, "errmsg": "ok", "msgid": msgid})
        if request.path == "/cgi-bin/message/template/send":
            if not self.tokens_issued or args.get("access_token") != self.tokens_issued[-1]:
                return self._json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            body = json.loads(request.get_data() or b"{}")
            if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
                return self._json({"errcode": 47001, "errmsg": "data format error"})
            if body["template_id"].startswith("BAD"):
                return self._json({"errcode": 40037, "errmsg": "invalid template_id"})
            msgid = next(self._counter)
            self.sent.append({**body, "msgid": msgid})
            return self._json({"errcode": 0, "errmsg": "ok", "msgid": msgid})
        return Response("not found", 404)


@contextmanager
def serving(wsgi_app):
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def fake_wechat(app):
    fake = FakeWechat()
    with serving(fake) as url:
        before = {k: app.config.get(k) for k in ("WECHAT_API_BASE", "WECHAT_OPEN_BASE")}
        app.config["WECHAT_API_BASE"] = app.config["WECHAT_OPEN_BASE"] = url
        fake.url = url
        try:
            yield fake
        finally:
            for key, value in before.items():
                if value is None:
                    app.config.pop(key, None)
                else:
                    app.config[key] = value


TEMPLATE_MAP = ("appointment.reminder = TplRemind01; thing1=service, time2=starts_at\n"
                "retail.topup = TplTopup01; character_string1=member_no, amount2=amount, amount3=balance\n"
                "broken.one = BADTEMPLATE; thing1=name")


def configure(login, world, **overrides):
    """Enter the Official Account's settings through the settings page, as a tenant admin would."""
    values = {"app_id": APP_ID, "app_secret": APP_SECRET, "server_token": SERVER_TOKEN, "oauth_scope": "snsapi_base",
              "template_map": TEMPLATE_MAP, **overrides}
    browser = login(world, "admin")
    resp = browser.post(f"/t/{world.slug}/modules/wechat_oa/settings", values)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    return browser


def signed_args(token=SERVER_TOKEN, timestamp=None, nonce="n0nce"):
    """The query WeChat's server adds to each callback: signature = SHA1 of the sorted token, timestamp, nonce."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def event_xml(openid, event, create_time=None):
    create_time = int(time.time()) if create_time is None else create_time
    return (f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event></xml>").encode()


AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"     # 43 characters, as 公众平台 generates


def popup_xml(openid, template_id, status="accept", create_time=None, event="subscribe_msg_popup_event"):
    """The push WeChat sends when a user answers the subscribe button (wx-open-subscribe) for a template."""
    create_time = int(time.time()) if create_time is None else create_time
    tag = {"subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
           "subscribe_msg_change_event": "SubscribeMsgChangeEvent"}[event]
    return (f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><{tag}><List><TemplateId><![CDATA[{template_id}]]></TemplateId>"
            f"<SubscribeStatusString><![CDATA[{status}]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
            f"</{tag}></xml>").encode()


def sent_xml(openid, template_id, msgid, status="success", create_time=None):
    create_time = int(time.time()) if create_time is None else create_time
    return (f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent><List>"
            f"<TemplateId><![CDATA[{template_id}]]></TemplateId><MsgID>{msgid}</MsgID><ErrorCode>0</ErrorCode>"
            f"<ErrorStatus><![CDATA[{status}]]></ErrorStatus></List></SubscribeMsgSentEvent></xml>").encode()


def encrypted_push(xml: bytes, *, token=SERVER_TOKEN, aes_key=AES_KEY, app_id=APP_ID, nonce="n0nce", timestamp=None):
    """(query, body) of a safe-mode push (安全模式) as WeChat's server sends it: the body is <Encrypt> under the
    EncodingAESKey, with msg_signature over (token, timestamp, nonce, Encrypt); `signature` is still sent."""
    from wechatpy.crypto import WeChatCrypto

    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    envelope = WeChatCrypto(token, aes_key, app_id).encrypt_message(xml.decode(), nonce, timestamp)
    encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    msg_signature = hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()
    body = (f"<xml><ToUserName><![CDATA[gh_fake]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
    query = {**signed_args(token=token, timestamp=timestamp, nonce=nonce), "encrypt_type": "aes",
             "msg_signature": msg_signature}
    return query, body
