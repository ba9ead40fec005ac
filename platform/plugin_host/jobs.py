"""Periodic jobs of plugins: one scheduled actor per job, fanned out to the tenants with the plugin on."""
from __future__ import annotations

import logging

from periodiq import cron
from sqlalchemy import select

from ..hooks.runtime import enabled_plugins, host
from ..jobs import actor, broker
from ..tenancy.context import TenantRef, tenant_context
from ..tenancy.models import Tenant
from ..tenancy.scoping import unscoped
from .models import TenantPlugin

log = logging.getLogger("storecrm.plugins")


def _job(plugin: str, code: str):
    for owner, job in host().contributions.get("register_periodic_jobs", []):
        if owner == plugin and job.code == code:
            return job
    return None


@actor(actor_name="storecrm_plugin_job")
def run_plugin_job(plugin: str, code: str) -> None:
    """Runs inside one tenant (the middleware re-entered it); does nothing where the plugin is off."""
    job = _job(plugin, code)
    if job is None or plugin not in enabled_plugins():
        return
    job.run()


def fan_out(plugin: str, code: str) -> int:
    with unscoped(reason=f"find tenants with plugin {plugin} on, for its periodic job {code}") as session:
        rows = session.execute(select(Tenant.id, Tenant.slug).join(TenantPlugin, TenantPlugin.tenant_id == Tenant.id)
                               .where(TenantPlugin.name == plugin, TenantPlugin.enabled,
                                      Tenant.status == "active")).all()
    for tid, slug in rows:
        with tenant_context(TenantRef(tid, slug)):
            run_plugin_job.send(plugin, code)
    return len(rows)


def declare_periodic_actors(host) -> None:
    """Called when the app is built; periodiq (the scheduler) and workers see the same actors. A second app built in
    the same process (bench/datagen.py loads two databases) finds them declared: the actor only names the plugin and
    job, so the first declaration serves both."""
    for owner, job in host.contributions.get("register_periodic_jobs", []):
        if f"storecrm_periodic_{owner}_{job.code}" in broker.actors:
            continue

        def scheduled(owner=owner, code=job.code):
            fan_out(owner, code)

        actor(scheduled, actor_name=f"storecrm_periodic_{owner}_{job.code}", periodic=cron(job.cron))
