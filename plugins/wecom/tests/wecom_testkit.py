"""A fake WeCom server API for the tests (no network): gettoken and message/send as documented at
developer.work.weixin.qq.com (errcodes included), in a thread with werkzeug's make_server."""
from __future__ import annotations

import json
import secrets
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CORP_ID, AGENT_ID, SECRET = "ww0123456789abcdef", "1000002", "fake-wecom-app-secret-0001"


class FakeWecom:
    def __init__(self, members=("zhangwei", "lina")):
        self.members = set(members)
        self.tokens: dict[str, float] = {}  # token -> expiry (time.time())
        self.token_calls = 0
        self.received: list[dict] = []
        self.expires_in = 7200
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def expire_all(self):
        """WeCom invalidates tokens early sometimes (the secret was reset, another fetch replaced it)."""
        self.tokens.clear()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path == "/cgi-bin/gettoken":
            data = self._gettoken(request)
        elif request.path == "/cgi-bin/message/send":
            data = self._send(request)
        else:
            data = {"errcode": 404, "errmsg": "not found"}
        return Response(json.dumps(data, ensure_ascii=False), content_type="application/json")(environ, start_response)

    def _gettoken(self, request):
        with self._lock:
            self.token_calls += 1
        time.sleep(0.05)  # slow enough that racing callers would all fetch without the shared lock
        if request.args.get("corpid") != CORP_ID:
            return {"errcode": 40013, "errmsg": "invalid corpid"}
        if request.args.get("corpsecret") != SECRET:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_hex(16)
        self.tokens[token] = time.time() + self.expires_in
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}

    def _send(self, request):
        token = request.args.get("access_token", "")
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        if token not in self.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.tokens[token] < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        body = request.get_json()
        if str(body.get("agentid")) != AGENT_ID:
            return {"errcode": 40056, "errmsg": "invalid agentid"}
        if body.get("touser") not in self.members:
            return {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        self.received.append(body)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"msg{len(self.received)}"}

    def close(self):
        self._server.shutdown()


def configure(admin, slug, *, secret=SECRET, bindings=None):
    """Credentials and staff bindings saved through the tenant's pages, as its admin would."""
    resp = admin.post(f"/t/{slug}/modules/wecom/settings", {"corp_id": CORP_ID, "agent_id": AGENT_ID,
                                                            "secret": secret})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    if bindings:
        resp = admin.post(f"/t/{slug}/wecom/bindings", {f"userid-{uid}": v for uid, v in bindings.items()})
        assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
