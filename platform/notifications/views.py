from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import services

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PAGE = 50


@bp.get("/")
@login_required
def index():
    before = request.args.get("before", "")
    unread_only = request.args.get("unread") == "1"
    items = services.notifications_of(current_user, unread_only=unread_only,
                                      before_id=int(before) if before.isdigit() and len(before) < 19 else None,
                                      limit=PAGE)
    return render_template("notifications/index.html", items=items, unread_only=unread_only,
                           next_before=items[-1].id if len(items) == PAGE else None)


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id):
    item = services.get_own(current_user, notification_id)
    if item is None:
        abort(404)
    services.mark_read(item)
    target = item.url or url_for("notifications.index")
    if target.startswith(("http://", "https://")):  # our own links carry the base URL (emails need it)
        from flask import current_app

        base = current_app.config["STORECRM"].base_url
        target = target[len(base):] if target.startswith(base) else url_for("notifications.index")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all():
    services.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))
