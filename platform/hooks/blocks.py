"""Blocks that plugins put on core pages — customer panels, KPIs, dashboard widgets — rendered so that one
failing block cannot take the page down.

A block's data is computed in the view and its template rendered by `render_block` from inside the page (with the
page's context, so nothing the page already computed runs twice). Both steps are guarded: an exception becomes a
small error card and a log line naming the plugin, the kind of block and its code. A plugin's block also runs in a
savepoint, since a failed SQL statement would otherwise abort the page's whole transaction; the core's and the system
plugins' own blocks skip it (two round trips each on the hottest pages).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from jinja2 import pass_context
from markupsafe import Markup

from ..extensions import db
from .catalogs import catalog_of
from .manager import CORE
from .runtime import enabled_plugins, host, tenant_hook

log = logging.getLogger("storecrm.plugins")


@dataclass(frozen=True)
class Block:
    """One block of a page: the registered `item`, its plugin, what its template gets (or its value), or `failed`."""

    item: Any
    owner: str
    kind: str
    context: dict = field(default_factory=dict)
    value: Any = None
    failed: bool = False


def _guarded(owner: str, kind: str, code: str, fn: Callable[[], Any]) -> tuple[Any, bool]:
    try:
        if owner == CORE or getattr(host().infos.get(owner), "system", False):  # the installation's own code
            return fn(), False
        with db.session.begin_nested():
            return fn(), False
    except Exception:  # a plugin's bug, whatever it is, stays inside its block
        log.exception("plugin %s: %s %s failed", owner, kind, code)
        return None, True


def _visible(hook: str, user) -> list[tuple[str, Any]]:
    registered = host()
    return [(registered.owner_of(hook, item), item) for item in registered.items(hook, enabled_plugins())
            if item.permission is None or user.has_permission(item.permission)]


def customer_panels(user, customer) -> list[Block]:
    """The panels of the customer page this user may see, in their order, with their context computed."""
    out = []
    for owner, panel in sorted(_visible("register_customer_panels", user), key=lambda pair: pair[1].order):
        ctx, failed = _guarded(owner, "panel", panel.code, lambda: panel.context(customer))
        out.append(Block(panel, owner, "panel", {"customer": customer, "panel": panel, "ctx": ctx}, failed=failed))
    return out


def asset_panels(user, asset) -> list[Block]:
    """The panels of an asset's page this user may see, in their order, with their context computed."""
    out = []
    for owner, panel in sorted(_visible("register_asset_panels", user), key=lambda pair: pair[1].order):
        ctx, failed = _guarded(owner, "panel", panel.code, lambda: panel.context(asset))
        out.append(Block(panel, owner, "panel", {"asset": asset, "panel": panel, "ctx": ctx}, failed=failed))
    return out


def lead_panels(user, lead) -> list[Block]:
    """The panels of a lead's page this user may see, in their order, with their context computed."""
    out = []
    for owner, panel in sorted(_visible("register_lead_panels", user), key=lambda pair: pair[1].order):
        ctx, failed = _guarded(owner, "panel", panel.code, lambda: panel.context(lead))
        out.append(Block(panel, owner, "panel", {"lead": lead, "panel": panel, "ctx": ctx}, failed=failed))
    return out


def kpis(user) -> list[Block]:
    """The KPIs of the home page this user may see that compute their value themselves (`compute(user)`), each
    computed or failed. KPIs with a query definition (`records`) are the reports engine's (storecrm.reports)."""
    out = []
    for owner, kpi in _visible("register_kpis", user):
        if kpi.compute is None:
            continue
        value, failed = _guarded(owner, "KPI", kpi.code, lambda: kpi.compute(user))
        out.append(Block(kpi, owner, "KPI", value=value, failed=failed))
    return out


def dashboard_widgets(user, position: str = "main") -> list[Block]:
    """The widgets of the home page at `position` ("top" or "main") this user may see, in their order; a widget
    whose `context(user)` answers None is left out for now."""
    out = []
    for owner, widget in sorted(_visible("register_dashboard_widgets", user), key=lambda pair: pair[1].order):
        if widget.position != position:
            continue
        extra, failed = ({}, False) if widget.context is None else _guarded(
            owner, "widget", widget.code, lambda: widget.context(user))
        if extra is None and not failed:
            continue
        out.append(Block(widget, owner, "widget", {"widget": widget, "user": user, **(extra or {})}, failed=failed))
    return out


def page_banners(user) -> list:
    """The banners (`Banner`) plugins show above every page for this user; a failing plugin shows none."""
    out = []
    for owner, impl in [(i.plugin_name, i) for i in tenant_hook("page_banners").get_hookimpls()]:
        banners, _failed = _guarded(owner, "banner", "page_banners", lambda: impl.function(user=user))
        out += list(banners or [])
    return out


@pass_context
def render_block(context, block: Block) -> Markup:
    """Jinja global: the block's template rendered with the page's context plus its own, or the error card."""
    env = context.environment
    if not block.failed:
        def render():
            with catalog_of(None if block.owner == CORE else block.owner):
                return Markup(env.get_template(block.item.template).render({**context.get_all(), **block.context}))

        html, failed = _guarded(block.owner, block.kind, block.item.code, render)
        if not failed:
            return html
    return Markup(env.get_template("macros/_block_error.html").render({**context.get_all(), "block": block}))
