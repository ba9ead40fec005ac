"""Demo tenants that plugins contribute (`register_demo_tenants`): created once each by `flask demo load`."""
from __future__ import annotations

import logging
import random

from sqlalchemy import select

from ..access.models import Role
from ..extensions import db
from ..hooks.contrib import DemoContext, DemoTenant
from ..hooks.runtime import host
from ..calendar import tenant_today
from ..plugin_host import services as plugins
from ..stores.models import Store
from ..stores.services import create_store
from ..tenancy.context import tenant_context
from ..tenancy.scoping import unscoped
from ..tenancy.models import Tenant
from ..users.models import User
from ..users.services import create_user
from ..workspace.services import create_tenant
from .loader import DEMO_PASSWORD, DEMO_USERS, STAFF_NAMES

log = logging.getLogger("storecrm.demo")


def registered() -> list[tuple[str, DemoTenant]]:
    """(plugin name, demo tenant) of every installed plugin, in a stable order."""
    return sorted(host().collect("register_demo_tenants"), key=lambda pair: pair[1].slug)


def load_vertical_demos(seed: int = 20261203) -> list[tuple[str, bool]]:
    """Create each plugin's demo tenant unless its slug exists; [(slug, created)]."""
    out = []
    for plugin, demo in registered():
        out.append((demo.slug, load_one(plugin, demo, seed)))
    return out


def load_one(plugin: str, demo: DemoTenant, seed: int = 20261203) -> bool:
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == demo.slug)):
        db.session.rollback()
        return False
    db.session.rollback()
    first, *others = demo.stores
    tenant = create_tenant(slug=demo.slug, name=demo.name, locale="zh_CN", store=dict(first),
                           owner={"display_name": STAFF_NAMES["owner"], "email": DEMO_USERS[0][0],
                                  "mobile": "+8613916000001", "password": DEMO_PASSWORD})
    try:
        with tenant_context(tenant):
            roles = {r.code: r for r in db.session.scalars(select(Role))}
            stores = [db.session.scalar(select(Store).where(Store.code == first["code"]))]
            stores += [create_store({"active": True, **store}) for store in others]
            for i, (email, role) in enumerate(DEMO_USERS[1:], start=2):
                in_stores = ([s.id for s in stores] if role == "admin"
                             else [stores[-1].id] if role == "technician" else [stores[0].id])
                create_user({"display_name": STAFF_NAMES[role], "email": email, "mobile": f"+861391600000{i}",
                             "password": DEMO_PASSWORD, "role_id": roles[role].id, "store_ids": in_stores})
            users = {role: db.session.scalar(select(User).where(User.email == email)) for email, role in DEMO_USERS}
            plugins.enable(plugin)
            demo.load(DemoContext(tenant=tenant, stores=stores, users=users, rng=random.Random(seed),
                                  today=tenant_today()))
            db.session.commit()
    except BaseException:
        db.session.rollback()
        log.exception("demo tenant %s of plugin %s failed to load; removed again", demo.slug, plugin)
        with unscoped(reason=f"roll back half-loaded demo tenant {demo.slug}") as system:
            system.execute(Tenant.__table__.delete().where(Tenant.id == tenant.id))
        raise
    return True
