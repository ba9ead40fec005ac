"""The Official Account's HTTP API (developers.weixin.qq.com/doc/offiaccount): access token, web sign-in, template
messages and subscribe messages (订阅通知). Plain `requests` against WECHAT_API_BASE (default https://api.weixin.qq.com), which tests point at a
local fake: wechatpy's client keeps its token per process, and the token must be one per account for all processes
(a second fetch invalidates the first after five minutes), so the token cache below is ours, in the shared Redis.

Errors come back as `WechatError` with WeChat's errcode and a Chinese (or English) explanation."""
from __future__ import annotations

import json

import requests
from flask import current_app
from flask_babel import gettext as _

from storecrm.sdk import current_tenant_id, plugin_settings, shared_redis

TIMEOUT = (5, 15)
EARLY = 300            # refresh five minutes before WeChat's expires_in runs out
INVALID_TOKEN = {40001, 40014, 42001}


class WechatError(RuntimeError):
    def __init__(self, errcode, message):
        # WeChat's numeric errcode stays visible for support; our own reasons ("config", "template") read alone
        super().__init__(message if isinstance(errcode, str) else f"{message} (errcode {errcode})")
        self.errcode, self.message = errcode, message


def explain(errcode, errmsg="") -> str:
    known = {
        -1: _("WeChat is busy; the message will be retried."),
        40001: _("The AppSecret is wrong or the access token is invalid: check the AppID and AppSecret."),
        40013: _("The AppID is not valid: check it in the Official Account's basic settings."),
        40125: _("The AppSecret is wrong: copy it again from the Official Account's basic settings."),
        40164: _("This server's IP address is not on the Official Account's IP whitelist."),
        40029: _("The sign-in code is invalid or was used already."),
        40163: _("The sign-in code was used already."),
        43004: _("The customer does not follow the Official Account."),
        40003: _("The openid does not belong to this Official Account."),
        40037: _("The template_id is not valid for this Official Account."),
        47003: _("A template field is missing or too long."),
        43101: _("The customer refused this subscribe message (or their consent was used up): nothing was sent."),
        43107: _("Subscribe messages are not enabled for this Official Account: add templates under 订阅通知."),
        47001: _("The message data is not in the format WeChat expects."),
        40036: _("The template_id is not valid for this Official Account."),
    }
    return known.get(errcode, _("WeChat refused the request (error %(code)s: %(msg)s).", code=errcode, msg=errmsg))


def base() -> str:
    return (current_app.config.get("WECHAT_API_BASE") or "https://api.weixin.qq.com").rstrip("/")


def _call(method: str, path: str, **kwargs) -> dict:
    try:
        response = requests.request(method, base() + path, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise WechatError("network", _("WeChat could not be reached: %(err)s", err=type(exc).__name__)) from exc
    if response.status_code >= 500:
        raise WechatError(response.status_code, _("WeChat is unavailable (HTTP %(code)s); retried later.",
                                                  code=response.status_code))
    try:
        data = response.json()
    except ValueError as exc:
        raise WechatError(response.status_code, _("WeChat answered something that is not JSON.")) from exc
    if data.get("errcode"):
        raise WechatError(data["errcode"], explain(data["errcode"], data.get("errmsg", "")))
    return data


def _credentials() -> tuple[str, str]:
    settings = plugin_settings("wechat_oa")
    if not settings.get("app_id") or not settings.get("app_secret"):
        raise WechatError("config", _("Enter the AppID and AppSecret of the Official Account first."))
    return settings["app_id"], settings["app_secret"]


def _key(app_id: str) -> str:
    return f"storecrm:wechat_oa:token:{current_tenant_id()}:{app_id}"


def access_token(*, force: bool = False) -> str:
    """The account's access token, fetched once for every process: cached in Redis until shortly before its
    `expires_in`; when it is missing, one process fetches it under a lock and the others wait and read it."""
    app_id, secret = _credentials()
    redis, key = shared_redis(), _key(app_id)
    if not force and (cached := redis.get(key)):
        return cached.decode()
    with redis.lock(key + ":lock", timeout=20, blocking_timeout=20):
        cached = redis.get(key)
        if cached and not force:
            return cached.decode()
        data = _call("GET", "/cgi-bin/token", params={"grant_type": "client_credential", "appid": app_id,
                                                       "secret": secret})
        token = data["access_token"]
        redis.set(key, token, ex=max(60, int(data.get("expires_in", 7200)) - EARLY))
        return token


def forget_token() -> None:
    app_id, _secret = _credentials()
    shared_redis().delete(_key(app_id))


def with_token(method: str, path: str, body: dict) -> dict:
    """Call an API that takes the access token; a token WeChat no longer accepts is fetched again, once."""
    for attempt in (1, 2):
        token = access_token(force=attempt == 2)
        try:
            return _call(method, path, params={"access_token": token},
                         data=json.dumps(body, ensure_ascii=False).encode(),
                         headers={"Content-Type": "application/json; charset=utf-8"})
        except WechatError as err:
            if attempt == 1 and err.errcode in INVALID_TOKEN:
                continue
            raise
    raise AssertionError("unreachable")


def openid_for_code(code: str) -> str:
    """Web sign-in: the visitor's openid for the `code` WeChat's authorize page handed back."""
    app_id, secret = _credentials()
    data = _call("GET", "/sns/oauth2/access_token", params={"appid": app_id, "secret": secret, "code": code,
                                                            "grant_type": "authorization_code"})
    return data["openid"]


def send_template(openid: str, template_id: str, data: dict, url: str | None = None) -> str:
    """Send a template message; returns WeChat's msgid."""
    body = {"touser": openid, "template_id": template_id,
            "data": {name: {"value": str(value)} for name, value in data.items()}}
    if url:
        body["url"] = url
    return str(with_token("POST", "/cgi-bin/message/template/send", body).get("msgid", ""))


def send_subscribe(openid: str, template_id: str, data: dict, url: str | None = None) -> str:
    """Send a subscribe message (订阅通知, `/cgi-bin/message/subscribe/bizsend`); returns WeChat's msgid. WeChat
    refuses with 43101 when the user has not (or no longer) agreed to this template."""
    body = {"touser": openid, "template_id": template_id,
            "data": {name: {"value": str(value)} for name, value in data.items()}}
    if url:
        body["page"] = url
    return str(with_token("POST", "/cgi-bin/message/subscribe/bizsend", body).get("msgid", ""))


def jsapi_ticket() -> str:
    """The account's JS-SDK ticket (jsapi_ticket), cached like the access token for every process: it signs the
    `wx.config` of pages that show WeChat's open tags (the subscribe button `wx-open-subscribe`)."""
    app_id, _secret = _credentials()
    redis, key = shared_redis(), _key(app_id) + ":jsapi"
    if cached := redis.get(key):
        return cached.decode()
    with redis.lock(key + ":lock", timeout=20, blocking_timeout=20):
        if cached := redis.get(key):
            return cached.decode()
        for attempt in (1, 2):
            try:
                data = _call("GET", "/cgi-bin/ticket/getticket",
                             params={"access_token": access_token(force=attempt == 2), "type": "jsapi"})
                break
            except WechatError as err:
                if attempt == 1 and err.errcode in INVALID_TOKEN:
                    continue
                raise
        ticket = data["ticket"]
        redis.set(key, ticket, ex=max(60, int(data.get("expires_in", 7200)) - EARLY))
        return ticket


def js_config(url: str) -> dict:
    """What `wx.config` needs for the page at `url` (without its #fragment), signed as WeChat documents: SHA1 of
    `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`."""
    import hashlib
    import secrets
    import time

    nonce, stamp = secrets.token_hex(8), str(int(time.time()))
    plain = f"jsapi_ticket={jsapi_ticket()}&noncestr={nonce}&timestamp={stamp}&url={url.split('#')[0]}"
    return {"appId": _credentials()[0], "timestamp": stamp, "nonceStr": nonce,
            "signature": hashlib.sha1(plain.encode()).hexdigest()}
