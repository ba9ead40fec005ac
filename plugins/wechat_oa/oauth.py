"""Web sign-in (网页授权) on customers' own pages: inside WeChat's browser, a page that calls
`bind_public_visitor(customer)` is sent once to WeChat's authorize page and comes back with a code, which becomes the
visitor's openid, bound to that customer.

The `state` parameter is signed (tenant, customer, a nonce kept in this browser's session) and lives ten minutes:
a forged or replayed callback, or one started in another browser (login CSRF), binds nothing."""
import secrets
from urllib.parse import quote

from flask import current_app, redirect, request, session, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from storecrm.sdk import current_tenant_id, plugin_settings

SALT = "storecrm.wechat_oa.state"
STATE_TTL = 600
NONCE, NEXT, BOUND = "wechat_oa.nonce", "wechat_oa.next", "wechat_oa.bound"


def in_wechat() -> bool:
    return "micromessenger" in (request.user_agent.string or "").lower()


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _bound() -> list:
    return session.get(BOUND, {}).get(str(current_tenant_id()), [])


def remember(customer_id: int) -> None:
    bound = dict(session.get(BOUND, {}))
    bound[str(current_tenant_id())] = sorted(set(bound.get(str(current_tenant_id()), [])) | {customer_id})
    session[BOUND] = bound


def visitor_redirect(customer):
    """`public_visitor`: the redirect to WeChat's authorize page, or None (not in WeChat, not configured, bound)."""
    if not in_wechat() or customer.id in _bound():
        return None
    settings = plugin_settings("wechat_oa")
    if not settings.get("app_id") or not settings.get("app_secret"):
        return None
    nonce = secrets.token_urlsafe(9)
    session[NONCE], session[NEXT] = nonce, request.full_path.rstrip("?")
    state = _serializer().dumps([current_tenant_id(), customer.id, nonce])
    back = url_for("wechat_oa_public.oauth_return", _external=True)
    authorize = (current_app.config.get("WECHAT_OPEN_BASE") or "https://open.weixin.qq.com").rstrip("/")
    return redirect(f"{authorize}/connect/oauth2/authorize?appid={settings['app_id']}&redirect_uri={quote(back, safe='')}"
                    f"&response_type=code&scope={settings['oauth_scope']}&state={state}#wechat_redirect")


def read_state(state: str) -> int | None:
    """The customer id a callback's state names, if it was signed for this tenant and this browser's nonce."""
    try:
        tenant_id, customer_id, nonce = _serializer().loads(state or "", max_age=STATE_TTL)
    except (BadData, ValueError, TypeError):
        return None
    expected = session.pop(NONCE, None)
    if tenant_id != current_tenant_id() or not expected or not secrets.compare_digest(str(nonce), expected):
        return None
    return customer_id if isinstance(customer_id, int) else None
