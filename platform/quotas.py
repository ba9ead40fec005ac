"""Room for more: before stores, active staff or customers are added, whoever sells the plans (the control plane,
through the `check_quota` and `quota_room` hooks) may refuse. An installation without such a plugin (self-hosted)
has no limits, and the core never needs to know what a plan is."""
from __future__ import annotations

from .hooks.runtime import tenant_hook

RESOURCES = ("stores", "seats", "customers")


def ensure_room(resource: str, adding: int = 1, *, field: str = "_schema") -> None:
    """Refuse (ValidationError on `field`, from the plugin that knows the plan) when `adding` more of `resource`
    would pass the current tenant's limit."""
    if adding > 0:
        tenant_hook("check_quota")(resource=resource, adding=adding, field=field)


def room(resource: str) -> int | None:
    """How many more of `resource` the current tenant may add; None when nothing limits it."""
    return tenant_hook("quota_room")(resource=resource)
