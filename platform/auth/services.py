"""Signing in and out, password reset, and personal API tokens."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import ValidationError
from sqlalchemy import or_, select, update

from dataclasses import replace

from ..audit.services import current_actor, record, set_actor
from ..events import StaffAccessChanged
from ..extensions import db
from ..notifications.outbox import send
from ..tenancy.context import require_tenant_id
from ..tenancy.models import Tenant, utcnow
from ..users.models import User
from ..users.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password
from ..validation import normalize_phone
from . import sessions
from .models import ApiToken
from .secrets import digest, matches, new_secret

RESET_MAX_AGE = 60 * 60  # one hour
TOKEN_PREFIX = "sct"


def find_by_login(login: str) -> User | None:
    login = (login or "").strip()
    if not login:
        return None
    candidates = [User.email == login.lower()]
    try:
        candidates.append(User.mobile == normalize_phone(login))
    except ValidationError:
        pass
    return db.session.scalar(select(User).where(or_(*candidates)))


def authenticate(login: str, password: str) -> User | None:
    user = find_by_login(login)
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(user: User, *, ip: str | None, user_agent: str | None) -> str:
    identity = sessions.open_session(user, ip=ip, user_agent=user_agent)
    user.last_login_at = utcnow()
    user.login_identity = identity
    set_actor(replace(current_actor(), id=user.id, label=user.display_name))  # the rest of this request is theirs
    record("login", "user", user.id, user.display_name)
    return identity


def end_session(user: User) -> None:
    if getattr(user, "session_id", None):
        sessions.revoke(user.session_id)
        record("logout", "user", user.id, user.display_name)


def end_all_sessions(user: User) -> None:
    """Log out everywhere: every browser session and every outstanding reset link."""
    user.auth_epoch += 1
    sessions.revoke_all(user.id)
    record("logout_all", "user", user.id, user.display_name)


def validate_new_password(password: str) -> None:
    if len(password or "") < MIN_LENGTH:
        raise ValidationError({"password": [_("Use at least %(n)d characters.", n=MIN_LENGTH)]})


def change_password(user: User, new_password: str) -> None:
    """Set a new password (own change or reset link): every browser session and API token of the user ends."""
    validate_new_password(new_password)
    user.password_hash = hash_password(new_password)
    user.auth_epoch += 1
    sessions.revoke_all(user.id)
    revoke_all_tokens(user)
    record("password_change", "user", user.id, user.display_name)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="storecrm.password-reset")


def reset_token_for(user: User) -> str:
    return _serializer().dumps({"t": user.tenant_id, "u": user.id, "e": user.auth_epoch})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=RESET_MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or data.get("t") != require_tenant_id():
        return None
    user = db.session.get(User, (data["t"], data["u"]))
    # the epoch moves on every password change: a link works once
    if user is None or not user.active or user.auth_epoch != data.get("e"):
        return None
    return user


def request_password_reset(login: str, reset_url_for) -> None:
    """Mail a reset link if the login exists; say nothing either way (no account enumeration)."""
    user = find_by_login(login)
    if user is None or not user.active or not user.email:
        return

    url = reset_url_for(reset_token_for(user))
    send("email", user.email, _("Reset your StoreCRM password"),
         _("Hello %(name)s,\n\nOpen this link within one hour to choose a new password:\n%(url)s\n\n"
           "If you did not ask for this, ignore this message.", name=user.display_name, url=url),
         payload={"scrub": True})  # the link is a credential: not kept in the outbox once sent
    record("password_reset_requested", "user", user.id, user.display_name)


# --- personal API tokens -------------------------------------------------------------------------

def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; return it with its plain text, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError({"name": [_("Give the token a name of 1 to 80 characters.")]})
    secret = new_secret()
    token = ApiToken(user_id=user.id, name=name, secret_hash=digest(secret), hint=secret[-6:])
    db.session.add(token)
    db.session.flush()
    record("create", "api_token", token.id, name)
    return token, f"{TOKEN_PREFIX}_{user.tenant_id}_{token.id}_{secret}"


def parse_token(plain: str) -> tuple[int, int, str] | None:
    try:
        prefix, tenant_id, token_id, secret = plain.split("_", 3)
        if prefix != TOKEN_PREFIX:
            return None
        return int(tenant_id), int(token_id), secret
    except (ValueError, AttributeError):
        return None


def token_principal(token_id: int, secret: str):
    """Inside the token's tenant: (token, its active user, the tenant) of a live token, touching last-used time; the
    API resolves a request's tenant and user in one round trip (the token names its tenant, whose RLS scope the
    query already runs in). None when the token is unknown, revoked, wrong or its user switched off."""
    query = select(ApiToken, Tenant).join(Tenant, Tenant.id == ApiToken.tenant_id).where(
        ApiToken.id == token_id, ApiToken.revoked_at.is_(None), Tenant.status != "deleted")
    row = db.session.execute(query).first()
    token, tenant = row if row is not None else (None, None)
    if token is None or not matches(secret, token.secret_hash) or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # on the connection, past the session: a use is not a change of the token, so the in-process caches of
        # principals (storecrm.localcache) are not dropped by it once a minute per token
        db.session.connection().execute(update(ApiToken.__table__).where(
            ApiToken.__table__.c.tenant_id == token.tenant_id, ApiToken.__table__.c.id == token.id)
            .values(last_used_at=now))
    return token, token.user, tenant


def list_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())))


def revoke_all_tokens(user: User) -> int:
    """Revoke every live token of `user`. A new password means whoever held the old one (or a stolen session) may
    have made tokens, and a token outlives any session; integrations then need a new token, made by the owner."""
    live = list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for token in live:
        token.revoked_at = utcnow()
        record("revoke", "api_token", token.id, token.name)
    return len(live)


def revoke_token(user: User, token_id: int) -> ApiToken | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record("revoke", "api_token", token.id, token.name)
    return token


def listen(event) -> None:
    """The sessions' and tokens' subscriber to `storecrm.events`: a staff member whose password changed or whose
    account was switched off is signed out everywhere; a new password also ends their API tokens."""
    if isinstance(event, StaffAccessChanged):
        sessions.revoke_all(event.user.id)
        if event.password_changed:
            revoke_all_tokens(event.user)
