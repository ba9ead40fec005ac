"""Staff pages of the catalog: the item list with filters, the item form (custom fields too), packages,
categories. Thin: parse, call catalog.services, render."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from ..extensions import db
from ..fields.engine import defaults, definitions, linked
from ..fields.forms import custom_from_form, form_errors
from ..stores.services import stores_visible_to
from ..tenancy.models import as_id, get_scoped
from ..web.forms import flatten_errors, requires
from ..web.i18n import current_code
from . import services, transfer
from .models import ITEM_KINDS, Brand, Category
from .schemas import CategorySchema, ItemSchema, PackageLineSchema

bp = Blueprint("catalog", __name__)
KIND_LABELS = {"product": _l("Product"), "service": _l("Service (labour)"), "part": _l("Part"),
               "package": _l("Package")}
PAGE = 50


@bp.get("/catalog/")
@requires("catalog.view")
def index():
    args = request.args
    q = (args.get("q") or "").strip()[:60]
    kind = args.get("kind") if args.get("kind") in ITEM_KINDS else None
    category_id, brand_id = as_id(args.get("category_id")), as_id(args.get("brand_id"))
    show_inactive = args.get("inactive") == "1"
    rows = services.list_items(q=q, kind=kind, category_id=category_id, brand_id=brand_id,
                               active=None if show_inactive else True, after_id=as_id(args.get("after")), limit=PAGE)
    list_args = {k: v for k, v in args.items() if k != "after"}
    return render_template("catalog/index.html", items=rows, q=q, kind=kind, category_id=category_id,
                           brand_id=brand_id, show_inactive=show_inactive, tree=services.category_tree(),
                           brands=services.brands(), kind_labels=KIND_LABELS, list_args=list_args,
                           brand_names={b.id: b.name for b in services.brands()},
                           category_names={c.id: c.name for c, _d in services.category_tree()},
                           next_after=rows[-1].id if len(rows) == PAGE else None)


def _render_form(item, values, errors, status=200):
    custom_defs = definitions(services.ENTITY, user=current_user)
    shown = linked(custom_defs, [{d.code: values.get(f"cf_{d.code}") for d in custom_defs}])
    stores = stores_visible_to(current_user)
    return render_template("catalog/form.html", item=item, values=values, errors=errors, custom_defs=custom_defs,
                           linked=shown, locale=current_code(), staff=[], kind_labels=KIND_LABELS,
                           tree=services.category_tree(), brands=services.brands(), stores=stores,
                           prices=services.store_prices(item) if item else {}), status


def _save(item):
    defs = definitions(services.ENTITY, user=current_user)
    custom, upload_errors = custom_from_form(defs, current_user)
    form = request.form
    values = {**form, **{f"cf_{k}": v for k, v in custom.items()}}
    payload = {k: form.get(k) for k in ("kind", "sku", "name", "brand", "category_id", "unit", "list_price", "cost",
                                        "tax_rate", "description") if form.get(k) not in (None, "")}
    if payload.get("category_id"):
        payload["category_id"] = as_id(payload["category_id"]) or -1
    payload.update(serial_tracked=form.get("serial_tracked") == "1", active=form.get("active") == "1",
                   custom=custom)
    try:
        data = ItemSchema().load(payload)
        if upload_errors:
            raise ValidationError({})
        saved = services.update_item(current_user, item, data) if item else services.create_item(current_user, data)
        prices = _store_prices(saved)
    except ValidationError as err:
        db.session.rollback()
        errors = form_errors(flatten_errors(err.messages)) if err.messages else {}
        return _render_form(item, values, {**errors, **upload_errors}, 422)
    for store, price in prices:
        services.set_store_price(saved, store, price)
    flash(_("Item %(name)s saved.", name=saved.name), "success")
    if saved.kind == "package" and not services.package_lines(saved):
        return redirect(url_for("catalog.components", item_id=saved.id))
    return redirect(url_for("catalog.index", q=saved.sku))


def _store_prices(item):
    """(store, price or None) from the form's price_<store id> inputs; field errors for bad prices."""
    field = ItemSchema().fields["list_price"]
    out, errors = [], {}
    for store in stores_visible_to(current_user):
        raw = (request.form.get(f"price_{store.id}") or "").strip()
        try:
            out.append((store, field.deserialize(raw) if raw else None))
        except ValidationError as err:
            errors[f"price_{store.id}"] = err.messages
    if errors:
        raise ValidationError(errors)
    return out


@bp.route("/catalog/new", methods=["GET", "POST"])
@requires("catalog.manage")
def new():
    if request.method == "POST":
        return _save(None)
    values = {"kind": request.args.get("kind") if request.args.get("kind") in ITEM_KINDS else "product",
              "active": True, "list_price": "0.00", "cost": "0", "tax_rate": "0.13",
              **{f"cf_{k}": v for k, v in defaults(services.ENTITY).items()}}
    return _render_form(None, values, {})


@bp.route("/catalog/<int:item_id>/edit", methods=["GET", "POST"])
@requires("catalog.manage")
def edit(item_id):
    item = services.get_item(item_id)
    if item is None:
        abort(404)
    if request.method == "POST":
        return _save(item)
    brand = get_scoped(Brand, item.brand_id) if item.brand_id else None
    values = {**ItemSchema().dump(item), "brand": brand.name if brand else "",
              **{f"cf_{k}": v for k, v in (item.custom or {}).items()},
              **{f"price_{k}": v for k, v in services.store_prices(item).items()}}
    return _render_form(item, values, {})


def _render_components(item, rows, errors, status=200):
    return render_template("catalog/components.html", item=item, rows=rows, errors=errors,
                           choices=[i for i in services.list_items(limit=500) if i.id != item.id],
                           expanded=services.expand_package(item) if not errors else []), status


@bp.route("/catalog/<int:item_id>/components", methods=["GET", "POST"])
@requires("catalog.manage")
def components(item_id):
    item = services.get_item(item_id)
    if item is None:
        abort(404)
    if item.kind != "package":
        flash(_("Only a package has components."), "warning")
        return redirect(url_for("catalog.edit", item_id=item.id))
    if request.method == "GET":
        rows = [{"component_id": c.id, "quantity": line.quantity} for line, c in services.package_lines(item)]
        return _render_components(item, rows, {})
    ids, quantities = request.form.getlist("component_id"), request.form.getlist("quantity")
    rows = [{"component_id": i, "quantity": q} for i, q in zip(ids, quantities) if i or q]
    if request.form.get("add"):
        return _render_components(item, rows + [{"component_id": "", "quantity": "1"}], {})
    errors, lines = {}, []
    for n, row in enumerate(rows):
        try:
            lines.append(PackageLineSchema().load({"component_id": as_id(row["component_id"]) or -1,
                                                   "quantity": row["quantity"]}))
        except ValidationError as err:
            errors.update({f"lines.{n}.{k}": v for k, v in flatten_errors(err.messages).items()})
    if not errors:
        try:
            services.set_package_lines(item, lines)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        db.session.rollback()
        return _render_components(item, rows, errors, 422)
    flash(_("Package %(name)s saved.", name=item.name), "success")
    return redirect(url_for("catalog.components", item_id=item.id))


@bp.route("/catalog/categories", methods=["GET", "POST"])
@requires("catalog.view")
def categories():
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        if not current_user.has_permission("catalog.manage"):
            abort(403)
        values = dict(request.form)
        try:
            data = CategorySchema().load({"name": values.get("name", ""),
                                          "parent_id": as_id(values["parent_id"]) or -1 if values.get("parent_id") else None})
            services.create_category(data)
            flash(_("Category %(name)s added.", name=data["name"]), "success")
            return redirect(url_for("catalog.categories"))
        except ValidationError as err:
            db.session.rollback()
            errors, status = flatten_errors(err.messages), 422
    return render_template("catalog/categories.html", tree=services.category_tree(), errors=errors,
                           values=values), status


@bp.post("/catalog/categories/<int:category_id>")
@requires("catalog.manage")
def edit_category(category_id):
    category = get_scoped(Category, category_id)
    if category is None:
        abort(404)
    form = request.form
    try:
        data = CategorySchema().load({"name": form.get("name", ""), "active": form.get("active") == "1",
                                      "parent_id": as_id(form["parent_id"]) or -1 if form.get("parent_id") else None})
        services.update_category(category, data)
    except ValidationError as err:
        db.session.rollback()
        return render_template("catalog/categories.html", tree=services.category_tree(),
                               errors=flatten_errors(err.messages), values={}, editing=category_id), 422
    flash(_("Category %(name)s saved.", name=category.name), "success")
    return redirect(url_for("catalog.categories"))


@bp.get("/catalog/export.<fmt>")
@requires("catalog.view")
def export(fmt):
    """The whole catalog as XLSX (or CSV), with the headers the import reads back (upsert by SKU)."""
    if fmt == "csv":
        return Response(transfer.to_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=catalog.csv"})
    if fmt != "xlsx":
        abort(404)
    return Response(transfer.to_xlsx(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     headers={"Content-Disposition": "attachment; filename=catalog.xlsx"})
