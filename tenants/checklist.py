"""The first-run checklist a new owner sees on the home page until it is done or hidden."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..customers.models import Customer
from ..extensions import db
from ..plugin_host.models import TenantPlugin
from ..stores.models import Store
from ..users.models import User
from . import entitlements


def steps(user) -> list[dict] | None:
    """[{code, label, done, endpoint}] for the owner of a workspace made by signup; None when not shown."""
    acct = entitlements.account()
    if acct is None or acct.verified_at is None or acct.checklist_dismissed or \
            not user.has_permission("tenant.settings"):
        return None
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # noqa: E731
    out = [
        {"code": "stores", "label": _l("Add your stores"), "endpoint": "stores.index", "done": count(Store) > 1},
        {"code": "staff", "label": _l("Invite your staff"), "endpoint": "users.index", "done": count(User) > 1},
        {"code": "module", "label": _l("Switch on a module for your trade"), "endpoint": "plugins.index",
         "done": count(TenantPlugin, TenantPlugin.enabled.is_(True)) > 0},
        {"code": "import", "label": _l("Import your customers"), "endpoint": "imports.index",
         "done": count(Customer) > 0},
    ]
    return None if all(s["done"] for s in out) else out
