"""Browser sessions bound to a tenant and stored server-side.

Flask-Login keeps "<tenant_id>:<session_id>:<secret>" in the signed cookie. The loader
accepts it only on the tenant it was issued for, only while the session row is live, the
user active and the user's auth epoch unchanged; so logout, "log out everywhere" and a
password change end sessions for real, and a session of tenant A is worthless on tenant B.
"""
from __future__ import annotations

import datetime as dt

from flask import g, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select, update

from ..audit.services import SYSTEM, Actor, set_actor
from ..extensions import db
from ..tenancy.context import current_tenant_id
from ..tenancy.models import utcnow
from .models import UserSession
from .secrets import digest, matches, new_secret

TOUCH_EVERY = dt.timedelta(minutes=5)



def open_session(user, *, ip: str | None, user_agent: str | None) -> str:
    secret = new_secret()
    row = UserSession(user_id=user.id, secret_hash=digest(secret), auth_epoch=user.auth_epoch, ip=ip,
                      user_agent=(user_agent or "")[:300])
    db.session.add(row)
    db.session.flush()
    return f"{user.tenant_id}:{row.id}:{secret}"


def parse_identity(identity: str) -> tuple[int, int, str] | None:
    try:
        tenant_id, session_id, secret = identity.split(":", 2)
        return int(tenant_id), int(session_id), secret
    except (ValueError, AttributeError):
        return None


def load_user(identity: str):
    parsed = parse_identity(identity)
    tid = current_tenant_id()
    if parsed is None or tid is None or parsed[0] != tid:
        return None
    _, session_id, secret = parsed
    row = db.session.scalar(select(UserSession).where(UserSession.id == session_id, UserSession.revoked_at.is_(None)))
    if row is None or not matches(secret, row.secret_hash):
        return None
    user = row.user
    if not user.active or row.auth_epoch != user.auth_epoch:
        return None
    now = utcnow()
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    user.login_identity = identity
    user.session_id = row.id
    return user


def revoke(session_id: int) -> None:
    db.session.execute(update(UserSession).where(UserSession.id == session_id).values(revoked_at=utcnow()))


def revoke_all(user_id: int) -> None:
    db.session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, not opened for API calls: a bearer token is their only credential, and reading
    and verifying a cookie cost every call (bench B1). The API sees an empty session it cannot write to."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app, login_manager) -> None:
    app.session_interface = CookieSessions()
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # the server-side session row does this job

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "warning"

    @app.before_request
    def _actor_from_session():
        from flask_login import current_user

        # API calls have no session to read: the token names the actor once checked (api/auth.py)
        if not request.path.startswith("/api/") and g.get("tenant") is not None and current_user.is_authenticated:
            g.log_user = current_user.id
            set_actor(Actor(current_user.id, current_user.display_name, request.remote_addr, g.get("request_id")))
        else:
            set_actor(Actor(None, "anonymous", request.remote_addr, g.get("request_id")))

    @app.teardown_request
    def _actor_back_to_system(exc=None):
        # a thread that serves a request may next run other work (a test, an inline job): it must not act as the
        # last request's user
        set_actor(SYSTEM)
