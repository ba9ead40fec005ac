"""Staff pages of stock: levels per location, the reorder list, the ledger, receiving, transfers, counts and
locations. Thin: parse, call stock.services, render."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from ..calendar import money, tenant_currency
from ..catalog.models import CatalogItem
from ..catalog.services import get_item, item_by_sku, list_items
from ..extensions import db
from ..stores.services import stores_visible_to
from ..tenancy.models import as_id, get_scoped
from ..web.forms import flatten_errors, requires
from . import services
from .models import Location, StockCount, Transfer

bp = Blueprint("stock", __name__)
PAGE = 50
LOCATION_KIND_LABELS = {"store": _l("Store shelf"), "warehouse": _l("Warehouse"), "van": _l("Service van")}
MOVEMENT_LABELS = {"receive": _l("Received"), "issue": _l("Issued"), "transfer_out": _l("Sent"),
                   "transfer_in": _l("Transfer received"), "adjust": _l("Adjusted"), "reserve": _l("Reserved"),
                   "release": _l("Released"), "return": _l("Returned")}
TRANSFER_STATES = {"in_transit": _l("In transit"), "received": _l("Received")}
COUNT_STATES = {"open": _l("Open"), "posted": _l("Posted"), "cancelled": _l("Cancelled")}


def _fmt(number) -> str:
    if number is None:
        return ""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@bp.app_template_filter("qty")
def qty_filter(number) -> str:
    """A quantity without trailing zeros: 2, 1.5, 0.125."""
    return _fmt(number)


@bp.app_template_filter("price")
def price_filter(amount) -> str:
    """An amount in the tenant's currency and the reader's locale (¥4,999.00), two places even for costs."""
    if amount is None:
        return ""
    if "_storecrm_currency" not in g:
        g._storecrm_currency = tenant_currency()
    return format_currency(money(amount), g._storecrm_currency)


def _locations():
    """Open locations of the user's stores; each store gets its shelf the first time stock pages are used."""
    services.ensure_store_shelves()
    return services.locations_visible_to(current_user)


def _levels(below_reorder: bool, template: str):
    args = request.args
    location_id = as_id(args.get("location_id"))
    q = (args.get("q") or "").strip()[:60]
    rows = services.list_levels(current_user, location_id=location_id, item_id=as_id(args.get("item_id")),
                                below_reorder=below_reorder, q=q, after_id=as_id(args.get("after")), limit=PAGE)
    list_args = {k: v for k, v in args.items() if k != "after"}
    return render_template(template, rows=rows, locations=_locations(), location_id=location_id, q=q,
                           list_args=list_args, below_reorder=below_reorder,
                           next_after=rows[-1][0].id if len(rows) == PAGE else None)


@bp.get("/stock/")
@requires("stock.view")
def levels():
    return _levels(False, "stock/levels.html")


@bp.get("/stock/reorder")
@requires("stock.view")
def reorder():
    """What to order: available stock at or below its reorder level."""
    return _levels(True, "stock/levels.html")


@bp.post("/stock/levels/<int:location_id>/<int:item_id>/reorder")
@requires("stock.manage")
def set_reorder(location_id, item_id):
    location, item = services.get_location(current_user, location_id), get_item(item_id)
    if location is None or item is None:
        abort(404)
    try:
        services.set_reorder_level(item, location, (request.form.get("reorder_level") or "").strip() or None)
    except ValidationError as err:
        db.session.rollback()
        for messages in flatten_errors(err.messages).values():
            for m in messages:
                flash(m, "danger")
        return redirect(url_for("stock.levels", location_id=location.id)), 303
    flash(_("Reorder level saved."), "success")
    return redirect(url_for("stock.levels", location_id=location.id))


@bp.get("/stock/movements")
@requires("stock.view")
def movements():
    args = request.args
    location_id, item_id = as_id(args.get("location_id")), as_id(args.get("item_id"))
    kind = args.get("kind") if args.get("kind") in MOVEMENT_LABELS else None
    rows = services.list_movements(current_user, location_id=location_id, item_id=item_id, kind=kind,
                                   after_id=as_id(args.get("after")), limit=PAGE)
    tenant_id = current_user.tenant_id
    items = {i.id: i for i in _items_by_id({m.item_id for m in rows})}
    locations = {loc.id: loc for loc in services.locations_visible_to(current_user, include_closed=True)}
    list_args = {k: v for k, v in args.items() if k != "after"}
    return render_template("stock/movements.html", rows=rows, items=items, locations=locations,
                           location_id=location_id, kind=kind, labels=MOVEMENT_LABELS, list_args=list_args,
                           tenant_id=tenant_id, next_after=rows[-1].id if len(rows) == PAGE else None)


def _items_by_id(ids):
    return list(db.session.scalars(select(CatalogItem).where(CatalogItem.id.in_(ids or [0]))))


def _stocked_items():
    return [i for i in list_items(limit=1000, sort="sku") if i.stocked]


def _item_from_form(value, field="sku"):
    item = item_by_sku(value or "")
    if item is None:
        raise ValidationError({field: [_("No item with this SKU.")]})
    return item


def _serials_from(text: str) -> list[str]:
    return [s.strip() for s in (text or "").replace(",", "\n").splitlines() if s.strip()]


@bp.route("/stock/receive", methods=["GET", "POST"])
@requires("stock.move")
def receive():
    values, errors, status = dict(request.values), {}, 200
    if request.method == "POST":
        try:
            location = services.get_location(current_user, request.form.get("location_id"))
            if location is None:
                raise ValidationError({"location_id": [_("Choose one of the listed options.")]})
            item = _item_from_form(request.form.get("sku"))
            cost = (request.form.get("unit_cost") or "").strip() or None
            services.receive(item, location, request.form.get("quantity", ""), unit_cost=cost,
                             serials=_serials_from(request.form.get("serials")),
                             reason=(request.form.get("reason") or "").strip()[:200] or None, staff=current_user)
            flash(_("%(item)s received at %(location)s.", item=item.name, location=location.name), "success")
            return redirect(url_for("stock.levels", location_id=location.id))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    return render_template("stock/receive.html", values=values, errors=errors, locations=_locations(),
                           items=_stocked_items()), status


@bp.route("/stock/adjust", methods=["GET", "POST"])
@requires("stock.manage")
def adjust():
    values, errors, status = dict(request.values), {}, 200
    if request.method == "POST":
        try:
            location = services.get_location(current_user, request.form.get("location_id"))
            if location is None:
                raise ValidationError({"location_id": [_("Choose one of the listed options.")]})
            item = _item_from_form(request.form.get("sku"))
            services.adjust(item, location, request.form.get("change", ""), reason=request.form.get("reason", ""),
                            serials=_serials_from(request.form.get("serials")), staff=current_user)
            flash(_("Stock of %(item)s adjusted.", item=item.name), "success")
            return redirect(url_for("stock.levels", location_id=location.id))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    return render_template("stock/adjust.html", values=values, errors=errors, locations=_locations(),
                           items=_stocked_items()), status


@bp.get("/stock/transfers/")
@requires("stock.view")
def transfers():
    visible = {loc.id: loc for loc in services.locations_visible_to(current_user, include_closed=True)}
    rows = list(db.session.scalars(select(Transfer).where(
        (Transfer.from_location_id.in_(visible or [0])) | (Transfer.to_location_id.in_(visible or [0])))
        .order_by(Transfer.id.desc()).limit(PAGE)))
    names = {loc.id: loc.name for loc in services.locations_visible_to(None, include_closed=True)}
    return render_template("stock/transfers.html", rows=rows, names=names, states=TRANSFER_STATES)


@bp.route("/stock/transfers/new", methods=["GET", "POST"])
@requires("stock.move")
def new_transfer():
    form = request.form
    rows = [{"sku": s, "quantity": q, "serials": sn} for s, q, sn in
            zip(form.getlist("sku"), form.getlist("quantity"), form.getlist("serials")) if s or q]
    values, errors, status = dict(form), {}, 200
    if request.method == "GET" or form.get("add"):
        rows = rows + [{"sku": "", "quantity": "1", "serials": ""}]
    else:
        try:
            source = services.get_location(current_user, form.get("from_location_id"))
            if source is None:
                raise ValidationError({"from_location_id": [_("Choose one of the listed options.")]})
            destination = get_scoped(Location, form.get("to_location_id"))
            if destination is None:
                raise ValidationError({"to_location_id": [_("Choose one of the listed options.")]})
            lines = []
            for n, row in enumerate(rows):
                item = _item_from_form(row["sku"], f"lines.{n}.item_id")
                lines.append({"item_id": item.id, "quantity": row["quantity"], "serials": _serials_from(row["serials"])})
            transfer = services.send_transfer(source, destination, lines, note=form.get("note"), staff=current_user)
            flash(_("Transfer sent: in transit to %(location)s.", location=destination.name), "success")
            return redirect(url_for("stock.transfer", transfer_id=transfer.id))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    return render_template("stock/transfer_new.html", values=values, errors=errors, rows=rows,
                           sources=_locations(), destinations=services.locations_visible_to(None),
                           items=_stocked_items()), status


def _visible_transfer(transfer_id):
    transfer = get_scoped(Transfer, transfer_id)
    if transfer is None or (services.get_location(current_user, transfer.from_location_id) is None
                            and services.get_location(current_user, transfer.to_location_id) is None):
        abort(404)
    return transfer


@bp.route("/stock/transfers/<int:transfer_id>", methods=["GET", "POST"])
@requires("stock.view")
def transfer(transfer_id):
    transfer = _visible_transfer(transfer_id)
    errors, status = {}, 200
    if request.method == "POST":
        if not current_user.has_permission("stock.move") or \
                services.get_location(current_user, transfer.to_location_id) is None:
            abort(403)
        received = {line.id: request.form.get(f"received_{line.id}", "") for line, _i in services.transfer_lines(transfer)}
        serials = {line.id: _serials_from(request.form.get(f"serials_{line.id}")) for line, item
                   in services.transfer_lines(transfer) if item.serial_tracked and f"serials_{line.id}" in request.form}
        try:
            services.receive_transfer(transfer, received, serials=serials, staff=current_user)
            flash(_("Transfer received."), "success")
            return redirect(url_for("stock.transfer", transfer_id=transfer.id))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    names = {loc.id: loc.name for loc in services.locations_visible_to(None, include_closed=True)}
    can_receive = transfer.state == "in_transit" and current_user.has_permission("stock.move") and \
        services.get_location(current_user, transfer.to_location_id) is not None
    return render_template("stock/transfer.html", transfer=transfer, lines=services.transfer_lines(transfer),
                           names=names, states=TRANSFER_STATES, errors=errors, can_receive=can_receive,
                           form=request.form), status


@bp.get("/stock/counts/")
@requires("stock.view")
def counts():
    return _render_counts({})


def _render_counts(errors, status=200):
    visible = {loc.id: loc for loc in _locations()}
    rows = list(db.session.scalars(select(StockCount).where(StockCount.location_id.in_(visible or [0]))
                                   .order_by(StockCount.id.desc()).limit(PAGE)))
    return render_template("stock/counts.html", rows=rows, locations=visible, states=COUNT_STATES,
                           errors=errors), status


@bp.post("/stock/counts/new")
@requires("stock.manage")
def new_count():
    location = services.get_location(current_user, request.form.get("location_id"))
    if location is None:
        return _render_counts({"location_id": [_("Choose one of the listed options.")]}, 422)
    count = services.start_count(location, note=request.form.get("note"), staff=current_user)
    return redirect(url_for("stock.count", count_id=count.id))


@bp.route("/stock/counts/<int:count_id>", methods=["GET", "POST"])
@requires("stock.view")
def count(count_id):
    count = get_scoped(StockCount, count_id)
    if count is None or services.get_location(current_user, count.location_id) is None:
        abort(404)
    errors, status = {}, 200
    if request.method == "POST":
        if not current_user.has_permission("stock.manage"):
            abort(403)
        counted = {k.removeprefix("counted_"): v for k, v in request.form.items() if k.startswith("counted_")}
        if request.form.get("add_sku"):
            item = item_by_sku(request.form["add_sku"])
            if item is None:
                errors["add_sku"] = [_("No item with this SKU.")]
            else:
                counted.setdefault(str(item.id), "")
                counted[str(item.id)] = counted[str(item.id)] or "0"
        try:
            if errors:
                raise ValidationError(errors)
            services.record_counts(count, counted)
            if request.form.get("post"):
                moved = services.post_count(count, staff=current_user)
                flash(_("Count posted: %(n)s adjustments.", n=len(moved)), "success")
            else:
                flash(_("Counts saved."), "success")
            return redirect(url_for("stock.count", count_id=count.id))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    location = services.get_location(current_user, count.location_id)
    return render_template("stock/count.html", count=count, lines=services.count_lines(count), location=location,
                           errors=errors, states=COUNT_STATES, form=request.form, items=_stocked_items()), status


@bp.route("/stock/locations", methods=["GET", "POST"])
@requires("stock.view")
def locations():
    values, errors, status = dict(request.form), {}, 200
    if request.method == "POST":
        if not current_user.has_permission("stock.manage"):
            abort(403)
        try:
            services.save_location(current_user, {"store_id": request.form.get("store_id"),
                                                  "kind": request.form.get("kind"), "name": request.form.get("name"),
                                                  "active": True})
            flash(_("Location added."), "success")
            return redirect(url_for("stock.locations"))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    stores = stores_visible_to(current_user)
    return render_template("stock/locations.html", rows=services.locations_visible_to(current_user, include_closed=True),
                           stores=stores, store_names={s.id: s.name for s in stores}, kinds=LOCATION_KIND_LABELS,
                           values=values, errors=errors), status
