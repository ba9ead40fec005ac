"""Operator console sessions, kept server-side like tenant staff sessions (storecrm.auth.sessions).

The signed cookie holds only a random secret; the `operator_sessions` row keeps its SHA-256. A session ends at
logout (the row is revoked), after IDLE without a request, after LIFETIME however busy, and when the operator is
deactivated — so a copy of the cookie is worth nothing once any of these happened.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from ..auth.secrets import digest, new_secret
from ..tenancy.models import utcnow
from ..tenancy.scoping import unscoped
from .models import Operator, OperatorSession

COOKIE_KEY = "ops_session"
LIFETIME = timedelta(hours=12)
IDLE = timedelta(hours=1)  # the console can suspend and delete any tenant: an unattended one closes soon
TOUCH_EVERY = timedelta(minutes=5)


def open_session(system, operator: Operator, *, ip: str | None) -> str:
    """In the sign-in's system session: a new session row; returns the secret for the cookie."""
    now = utcnow()
    # this operator's ended sessions go at each sign-in, so the table holds little more than live ones
    system.execute(delete(OperatorSession).where(
        OperatorSession.operator_id == operator.id,
        or_(OperatorSession.revoked_at.is_not(None), OperatorSession.expires_at <= now,
            OperatorSession.last_seen_at <= now - IDLE)))
    secret = new_secret()
    system.add(OperatorSession(operator_id=operator.id, secret_hash=digest(secret), created_at=now, last_seen_at=now,
                               expires_at=now + LIFETIME, ip=ip))
    return secret


def operator_for(secret: str | None) -> Operator | None:
    """The active operator of a live session, detached; None for anything else."""
    if not secret or not isinstance(secret, str):
        return None
    now = utcnow()
    with unscoped(reason="operator console checks the operator's session", routine=True) as system:
        found = system.execute(
            select(OperatorSession, Operator).join(Operator, Operator.id == OperatorSession.operator_id).where(
                OperatorSession.secret_hash == digest(secret), OperatorSession.revoked_at.is_(None),
                OperatorSession.expires_at > now, OperatorSession.last_seen_at > now - IDLE, Operator.active)).first()
        if found is None:
            return None
        row, operator = found
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        system.flush()
        system.expunge(operator)
    return operator


def revoke(system, secret: str | None) -> None:
    if secret and isinstance(secret, str):
        system.execute(update(OperatorSession).where(OperatorSession.secret_hash == digest(secret),
                                                     OperatorSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
