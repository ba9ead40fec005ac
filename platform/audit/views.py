from datetime import datetime, time

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..web.forms import requires
from ..web.i18n import tenant_zone
from .models import AuditEntry

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50

ENTITY_LABELS = {"customer": _l("Customer"), "store": _l("Store"), "user": _l("Staff"), "role": _l("Role"),
                 "tenant": _l("Settings"), "api_token": _l("API token"), "identity": _l("Identities"),
                 "asset": _l("Asset"), "task": _l("Task"), "interaction": _l("Interactions"), "import": _l("Import"),
                 "plugin": _l("Modules")}
ACTION_LABELS = {"create": _l("created"), "update": _l("changed"), "login": _l("signed in"),
                 "logout": _l("signed out"), "logout_all": _l("signed out everywhere"), "revoke": _l("revoked"),
                 "password_change": _l("password changed"), "password_reset_requested": _l("reset link requested"),
                 "delete": _l("deleted"), "merge": _l("merged"), "unmerge": _l("merge undone"),
                 "match": _l("matched on import or entry"), "transfer": _l("owner changed"), "enable": _l("switched on"),
                 "disable": _l("switched off"), "finish": _l("finished"),
                 "resume": _l("resumed"), "erase": _l("erased (PIPL)")}


def _date(value: str | None):
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


@bp.get("/")
@requires("audit.view")
def index():
    """Newest first, keyset-paged by id; filters by entity type, action, actor and day range."""
    args = request.args
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE + 1)
    if args.get("entity_type"):
        q = q.where(AuditEntry.entity_type == args["entity_type"][:60])
    if args.get("action"):
        q = q.where(AuditEntry.action == args["action"][:40])
    if args.get("actor", "").isdigit():
        q = q.where(AuditEntry.actor_id == int(args["actor"]))
    if args.get("entity_id", "").isdigit() and len(args["entity_id"]) < 19:
        q = q.where(AuditEntry.entity_id == int(args["entity_id"]))
    start, end = _date(args.get("from")), _date(args.get("to"))

    tz = tenant_zone()
    if start:
        q = q.where(AuditEntry.at >= datetime.combine(start, time.min, tz))
    if end:
        q = q.where(AuditEntry.at <= datetime.combine(end, time.max, tz))
    before = args.get("before", "")
    if before.isdigit() and len(before) < 19:
        q = q.where(AuditEntry.id < int(before))
    rows = list(db.session.scalars(q))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_args = {**args.to_dict(), "before": rows[-1].id} if more else None
    return render_template("audit/index.html", entries=rows, next_args=next_args, args=args,
                           entity_labels=ENTITY_LABELS, action_labels=ACTION_LABELS)
