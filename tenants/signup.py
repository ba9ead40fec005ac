"""Self-serve signup: a chain creates its workspace (tenant, first store, owner) and confirms the owner's email.

The workspace stays `pending` — nobody can sign in — until the link in the email is opened, so an address typed by
someone else cannot be used to open a workspace in its owner's name."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import ValidationError
from sqlalchemy import select

from ..extensions import db
from ..notifications.outbox import send
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant, utcnow
from ..tenancy.scoping import unscoped
from ..workspace.services import create_tenant, validate_slug
from .models import TenantAccount, account_row

VERIFY_MAX_AGE = 3 * 24 * 3600
RESERVED_EXTRA = {"signup", "billing", "ops", "operator", "admin", "api", "static", "www", "help", "status", "demo"}


def signup_open() -> bool:
    return current_app.config["STORECRM"].signup_open


def rate_limit() -> str:
    """Signups per client IP (SIGNUP_RATE_LIMIT), for the page and the API alike."""
    return current_app.config["STORECRM"].signup_rate_limit


def slug_available(slug: str) -> tuple[bool, str | None]:
    """(available, reason if not) for the live check on the form."""
    try:
        slug = validate_slug(slug)
    except ValidationError as err:
        return False, err.messages["slug"][0]
    if slug in RESERVED_EXTRA:
        return False, _("Use 2–63 lowercase letters, digits or hyphens (not a reserved word).")
    with unscoped(reason="signup checks whether a workspace name is free", routine=True) as system:
        taken = system.scalar(select(Tenant.id).where(Tenant.slug == slug))
    return (False, _("This workspace name is taken.")) if taken else (True, None)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="storecrm-signup-verify")


def sign_up(data: dict) -> Tenant:
    """Create the workspace (pending), its account on the signup plan, and mail the owner a confirmation link."""
    ok, reason = slug_available(data["slug"])
    if not ok:
        raise ValidationError({"slug": [reason]})
    tenant = create_tenant(slug=data["slug"], name=data["chain_name"], locale=data["locale"],
                           timezone=data["timezone"], status="pending",
                           store={"code": "HQ", "name": data.get("store_name") or data["chain_name"]},
                           owner={"display_name": data["admin_name"], "email": data["email"], "mobile": data["mobile"],
                                  "password": data["password"], "locale": data["locale"]})
    with unscoped(reason=f"signup gives {tenant.slug} its plan") as system:  # plan and billing state: ours alone
        account_row(system, tenant.id).plan_code = current_app.config["STORECRM"].signup_plan
    token = _serializer().dumps({"t": tenant.id})
    link = f"{current_app.config['STORECRM'].base_url}/signup/verify/{token}"
    with tenant_context(tenant), force_locale(data["locale"]):
        send("email", data["email"], _("Confirm your StoreCRM workspace %(slug)s", slug=tenant.slug),
             _("Open this link within three days to confirm your email and open your workspace:\n%(link)s",
               link=link), payload={"scrub": True}, dedupe_key=f"signup:{tenant.id}")
        db.session.commit()
    return tenant


def verify(token: str) -> Tenant:
    """Activate the workspace the link was made for; ValidationError if the link is bad or expired."""
    try:
        tenant_id = _serializer().loads(token, max_age=VERIFY_MAX_AGE)["t"]
    except SignatureExpired:
        raise ValidationError({"token": [_("This link has expired. Sign up again.")]})
    except (BadSignature, KeyError, TypeError):
        raise ValidationError({"token": [_("This link is not valid.")]})
    with unscoped(reason="signup confirms the owner's email and opens the workspace") as system:
        tenant = system.get(Tenant, tenant_id)
        if tenant is None or tenant.status == "deleted":
            raise ValidationError({"token": [_("This link is not valid.")]})
        if tenant.status == "pending":
            tenant.status = "active"
        account = system.get(TenantAccount, tenant_id)
        if account is not None and account.verified_at is None:
            account.verified_at = utcnow()
        slug = tenant.slug
    return Tenant(id=tenant_id, slug=slug)


def login_url(tenant: Tenant) -> str:
    return url_for("auth.login", tenant=tenant.slug)
