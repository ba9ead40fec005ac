"""WeCom's server API (developer.work.weixin.qq.com): the app's access_token and app messages.

The access_token is one per app, valid `expires_in` seconds (7200), and WeCom throttles `gettoken`; every web and
worker process therefore shares it through Redis, and when it is missing or stale exactly one process fetches a new
one under a Redis lock while the others wait and then read it. The API base can be pointed elsewhere with
STORECRM_WECOM_API_BASE (the tests' fake server) — an operator setting, never a tenant's."""
from __future__ import annotations

import hashlib
import os

import requests

from storecrm.sdk import current_tenant_id, shared_redis

from .errors import TOKEN_CODES

TIMEOUT_S = 10
EARLY_S = 300  # refresh five minutes before WeCom says the token expires


class WecomError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


def api_base() -> str:
    return (os.environ.get("STORECRM_WECOM_API_BASE") or "https://qyapi.weixin.qq.com").rstrip("/")


def _key(settings: dict) -> str:
    # the app's identity is part of the key: new credentials never reuse the old app's token
    app = hashlib.sha256(f"{settings['corp_id']}:{settings['agent_id']}:{settings['secret']}".encode()).hexdigest()[:16]
    return f"wecom:token:{current_tenant_id()}:{app}"


def _call(method: str, path: str, **kwargs) -> dict:
    try:
        resp = requests.request(method, f"{api_base()}{path}", timeout=TIMEOUT_S, **kwargs)
        resp.raise_for_status()
        data = resp.json()
    except (requests.RequestException, ValueError) as err:
        raise WecomError(-1, str(err)[:200]) from err
    if data.get("errcode", 0) != 0:
        raise WecomError(int(data["errcode"]), data.get("errmsg") or "")
    return data


def access_token(settings: dict) -> str:
    redis, key = shared_redis(), _key(settings)
    cached = redis.get(key)
    if cached:
        return cached.decode()
    with redis.lock(f"{key}:lock", timeout=TIMEOUT_S + 5, blocking_timeout=TIMEOUT_S + 5):
        cached = redis.get(key)  # another process may have fetched it while this one waited
        if cached:
            return cached.decode()
        data = _call("GET", "/cgi-bin/gettoken", params={"corpid": settings["corp_id"],
                                                         "corpsecret": settings["secret"]})
        token, ttl = data["access_token"], int(data.get("expires_in") or 7200)
        redis.set(key, token, ex=max(ttl - EARLY_S, 60))
        return token


def forget_token(settings: dict) -> None:
    shared_redis().delete(_key(settings))


def send_text(settings: dict, userid: str, title: str, body: str, url: str | None) -> str:
    """An app message to one member: a text card with a button when there is a link, else text. Returns the
    msgid. A token WeCom calls invalid or expired is forgotten and fetched again once."""
    if url:
        message = {"msgtype": "textcard", "textcard": {"title": title[:128], "description": body[:512] or title,
                                                       "url": url, "btntxt": "详情"}}
    else:
        message = {"msgtype": "text", "text": {"content": "\n".join(p for p in (title, body) if p)[:2048]}}
    payload = {"touser": userid, "agentid": int(settings["agent_id"]), **message}
    for attempt in (1, 2):
        try:
            data = _call("POST", "/cgi-bin/message/send", params={"access_token": access_token(settings)},
                         json=payload)
        except WecomError as err:
            if err.errcode in TOKEN_CODES and attempt == 1:
                forget_token(settings)
                continue
            raise
        if data.get("invaliduser"):
            raise WecomError(81013, f"invaliduser {data['invaliduser']}")
        return str(data.get("msgid") or "")
    raise WecomError(42001, "token refused twice")
