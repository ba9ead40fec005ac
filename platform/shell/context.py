"""What every signed-in page of the shell needs: navigation and the store switcher."""
from __future__ import annotations

from flask import g, session
from flask_babel import format_currency
from flask_login import current_user

from ..calendar import money, tenant_currency
from ..hooks.blocks import page_banners
from ..hooks.runtime import nav_items
from ..notifications.services import unread_count
from ..stores.services import stores_visible_to
from ..tenancy.models import utcnow
from ..validation import display_phone
from ..web.i18n import zone_name, zone_options
from ..web.nav import visible_items
from ..workspace.schemas import TIMEZONES


def init_app(app) -> None:
    @app.context_processor
    def _shell():
        if g.get("tenant") is None or not current_user.is_authenticated:
            return {}

        stores = [s for s in stores_visible_to(current_user) if s.active]
        items = nav_items()
        main, admin = visible_items(items, current_user, "main"), visible_items(items, current_user, "admin")
        account = visible_items(items, current_user, "account")
        return {
            "shell_nav_main": main,
            "shell_nav_admin": admin,
            "shell_nav_account": account,
            "shell_active": _active(main + admin),
            "shell_stores": stores,
            "shell_store_id": session.get("store_id"),
            "shell_unread": unread_count(current_user),
            "shell_banners": page_banners(current_user),
        }


def _active(items) -> str | None:
    """The one nav entry to highlight: the page's own, else the first of its blueprint (a workflow item page
    lights "My queue", not also "Workflows")."""
    from flask import request

    endpoint = request.endpoint or ""
    if any(i.endpoint == endpoint for i in items):
        return endpoint
    blueprint = endpoint.split(".")[0]
    return next((i.endpoint for i in items if i.endpoint.split(".")[0] == blueprint), None)


def _iso_datetime(value, format: str = "short") -> str:
    """An ISO timestamp kept in JSON (e.g. a consent's time) shown like every other time: in the tenant's zone."""
    from datetime import datetime

    from flask_babel import format_datetime

    try:
        return format_datetime(datetime.fromisoformat(value), format)
    except (TypeError, ValueError):
        return value or ""


def _iso_date(value, format: str = "medium") -> str:
    """A date kept as ISO text in JSON (a custom date field) written the user's way (2026年3月12日)."""
    from datetime import date

    from flask_babel import format_date

    try:
        return format_date(date.fromisoformat(value), format)
    except (TypeError, ValueError):
        return value or ""


def _tel_uri(value) -> str:
    """The number for a tel: link: E.164 as stored (+8613800138000), or its digits when it is not."""
    text = str(value or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return ("+" + digits) if text.startswith("+") else digits


def _currency(value) -> str:
    """An amount in the tenant's currency, written the user's way (¥1,280.00; "" for no amount)."""
    if value is None or value == "":
        return ""
    return format_currency(money(value), tenant_currency())


def _timezone_options(current: str | None = None) -> list[tuple[str, str]]:
    """(zone, localized name) for a time-zone select, common zones first; the current one kept if unlisted."""
    options = [(zone, name) for zone, name, _common in zone_options(TIMEZONES)]
    if current and current in TIMEZONES and all(zone != current for zone, _name in options):
        options.insert(0, (current, zone_name(current)))
    return options


def init_filters(app) -> None:
    from flask_babel import lazy_gettext as _l

    status_labels = {"uploaded": _l("waiting for the column mapping"), "queued": _l("queued"),
                     "running": _l("running"), "done": _l("finished"), "failed": _l("failed")}
    app.jinja_env.globals["status_labels"] = status_labels
    app.jinja_env.globals["field_type_labels"] = {
        "text": _l("Text"), "long_text": _l("Long text"), "number": _l("Number"), "money": _l("Money"),
        "date": _l("Date"), "datetime": _l("Date and time"), "select": _l("Choice"),
        "multi_select": _l("Several choices"), "bool": _l("Yes / no"), "phone": _l("Phone"),
        "photo": _l("Photos"), "file": _l("Files"), "ref_customer": _l("Link to a customer"),
        "ref_asset": _l("Link to an asset"), "ref_user": _l("Link to a staff member")}

    app.jinja_env.globals["timezone_options"] = _timezone_options
    app.add_template_filter(display_phone, "phone")
    app.add_template_filter(_tel_uri, "tel_uri")
    app.add_template_filter(_currency, "currency")
    app.add_template_filter(_iso_datetime, "isodatetime")
    app.add_template_filter(_iso_date, "isodate")
    app.add_template_filter(lambda rows: [(r.id, r.label) for r in rows], "role_options")
    app.add_template_filter(lambda rows: [(r.id, r.name) for r in rows], "options")
    app.add_template_filter(lambda values: [(v, v) for v in values], "zip_self")
    app.add_template_filter(lambda users: [(u.id, u.display_name) for u in users], "staff_options")

    app.jinja_env.globals["now_utc"] = utcnow  # overdue badges compare deadlines with it
    app.jinja_env.globals["workflow_action_labels"] = {
        "start": _l("Started"), "move": _l("Moved"), "reject": _l("Sent back"), "request": _l("Asked for approval"),
        "approve": _l("Approved"), "decline": _l("Declined"), "escalate": _l("Escalated"), "assign": _l("Assigned")}
    app.jinja_env.globals["escalation_labels"] = {
        "remind": _l("Remind the assignee"), "notify_role": _l("Notify a role"), "reassign": _l("Reassign to a role")}
    app.jinja_env.globals["billing_status_labels"] = {
        "none": _l("no subscription"), "active": _l("paid up"), "past_due": _l("payment overdue"),
        "canceled": _l("cancelled")}
    app.jinja_env.globals["resource_labels"] = {
        "stores": _l("Stores"), "seats": _l("Active staff accounts"), "customers": _l("Customers")}
    app.jinja_env.globals["approval_labels"] = {
        "single": _l("One approver"), "quorum": _l("N of M approvers"), "tiers": _l("By amount (tiers)")}
