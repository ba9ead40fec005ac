from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..customers.identity import CORE_KINDS
from ..customers.services import get_customer
from ..extensions import db
from ..fields.engine import defaults, definitions, filter_errors, filters_from_args, linked
from ..fields.forms import custom_from_form, form_errors
from ..users.services import list_users
from ..web.schema_forms import describe
from ..stores.services import stores_visible_to
from ..hooks.blocks import asset_panels
from ..web.forms import flatten_errors, load_form, requires
from ..web.i18n import current_code
from . import services
from .schemas import AssetSchema, ReadingSchema, TransferSchema

bp = Blueprint("assets", __name__)
KIND_LABELS = {k.code: k.label for k in CORE_KINDS}


def _form_payload(asset_type) -> dict:
    """The asset form: plain fields, attr_* for the type's attributes, id_* for its identifiers."""
    form = request.form
    payload = {k: form.get(k) for k in ("type", "name", "store_id", "purchased_on", "installed_on",
                                        "warranty_until", "notes") if form.get(k) not in (None, "")}
    payload["attributes"] = {k[5:]: v for k, v in form.items() if k.startswith("attr_") and v != ""}
    if asset_type is not None:
        payload["identifiers"] = {kind: form.get(f"id_{kind}", "") for kind in asset_type.identity_kinds}
    payload["move_identifiers"] = form.getlist("move_identifiers")[:10]
    return payload


def _render_form(customer, asset, values, errors, status=200, moves=None):
    types = services.asset_types()
    chosen = types.get(values.get("type")) or next(iter(types.values()))
    fields = describe(chosen.attributes()) if chosen.attributes else []
    custom_defs = definitions("asset", user=current_user)
    shown = linked(custom_defs, [{d.code: values.get(f"cf_{d.code}") for d in custom_defs}])
    return render_template("assets/form.html", customer=customer, asset=asset, values=values, errors=errors,
                           custom_defs=custom_defs, linked=shown, locale=current_code(),
                           staff=[u for u in list_users(current_user) if u.active] if custom_defs else [],
                           types=types, chosen=chosen, attr_fields=fields, kind_labels=KIND_LABELS,
                           stores=stores_visible_to(current_user), moves=moves or {}), status


def _save(customer, asset):
    types = services.asset_types()
    custom, upload_errors = custom_from_form(definitions("asset", user=current_user), current_user)
    values = {**request.form, **{f"cf_{k}": v for k, v in custom.items()}}
    payload = {**_form_payload(types.get(request.form.get("type"))), "custom": custom}
    try:
        data = AssetSchema().load(payload)
        if upload_errors:
            raise ValidationError({})
    except ValidationError as err:
        # show every mistake at once: the type's own checks run on what did load
        errors = flatten_errors(err.messages) if err.messages else {}
        try:
            services.validate(current_user, {**(err.valid_data or {}), "type": payload.get("type"),
                                             "attributes": payload.get("attributes"),
                                             "identifiers": payload.get("identifiers"), "custom": custom})
        except ValidationError as more:
            errors = {**form_errors(flatten_errors(more.messages)), **errors}
        return _render_form(customer, asset, values, {**errors, **upload_errors}, 422)
    try:
        saved = services.update_asset(current_user, asset, data) if asset else \
            services.create_asset(current_user, customer, data)
    except ValidationError as err:
        return _render_form(customer, asset, values, form_errors(flatten_errors(err.messages)), 422,
                            moves=getattr(err, "moves", None))
    flash(_("Asset %(name)s saved.", name=saved.name), "success")
    return redirect(url_for("assets.show", asset_id=saved.id))


@bp.route("/customers/<int:customer_id>/assets/new", methods=["GET", "POST"])
@requires("customers.manage")
def new(customer_id):
    customer = get_customer(current_user, customer_id)
    if customer is None:
        abort(404)
    if request.method == "POST" and request.form.get("save"):
        return _save(customer, None)

    values = {"type": request.values.get("type", "vehicle"), "store_id": customer.store_id,
              **{f"cf_{k}": v for k, v in defaults("asset").items()}, **request.form}
    return _render_form(customer, None, values, {})


@bp.route("/assets/<int:asset_id>/edit", methods=["GET", "POST"])
@requires("customers.manage")
def edit(asset_id):
    asset = services.get_asset(current_user, asset_id)
    if asset is None:
        abort(404)
    customer = get_customer(current_user, asset.customer_id)
    if request.method == "POST" and request.form.get("save"):
        return _save(customer, asset)
    values = {**AssetSchema().dump(asset), **{f"attr_{k}": v for k, v in (asset.attributes or {}).items()},
              **{f"cf_{k}": v for k, v in (asset.custom or {}).items()},
              **{f"id_{k}": v for k, v in services.identifiers_of([asset.id])[asset.id].items()}, **request.form}
    return _render_form(customer, asset, values, {})


@bp.get("/assets/<int:asset_id>")
@requires("customers.view")
def show(asset_id):
    asset = services.get_asset(current_user, asset_id)
    if asset is None:
        abort(404)
    return _render_show(asset)


def _render_show(asset, errors=None, status=200):
    types = services.asset_types()
    kind = types.get(asset.type)
    fields = describe(kind.attributes()) if kind and kind.attributes else []
    custom_defs = definitions("asset", user=current_user)

    return render_template("assets/show.html", asset=asset, kind=kind, attr_fields=fields, custom_defs=custom_defs,
                           panels=asset_panels(current_user, asset), readings=services.readings_of(asset.id),
                           linked=linked(custom_defs, [asset.custom]), locale=current_code(),
                           owner=get_customer(current_user, asset.customer_id),
                           identifiers=services.identifiers_of([asset.id])[asset.id], kind_labels=KIND_LABELS,
                           history=services.history(asset.id), errors=errors or {}), status


@bp.post("/assets/<int:asset_id>/transfer")
@requires("customers.manage")
def transfer(asset_id):
    asset = services.get_asset(current_user, asset_id)
    if asset is None:
        abort(404)
    try:
        data = TransferSchema().load({k: v for k, v in request.form.items() if k in ("customer_id", "note")})
        new_owner = get_customer(current_user, data["customer_id"])
        if new_owner is None:
            raise ValidationError({"customer_id": [_("No such customer among the ones you may see.")]})
        services.transfer(current_user, asset, new_owner, data.get("note"))
    except ValidationError as err:
        return _render_show(asset, flatten_errors(err.messages), 422)
    flash(_("The asset now belongs to %(name)s.", name=new_owner.name), "success")
    return redirect(url_for("assets.show", asset_id=asset.id))


@bp.get("/assets/")
@requires("customers.view")
def index():
    args = request.args
    type_ = args.get("type") or None
    after = args.get("after", "")
    defs = definitions("asset", user=current_user)
    filterable, raw, custom = filters_from_args(defs, args)
    sort = args.get("sort") if args.get("sort") in services.SORTS else "newest"
    q = (args.get("q") or "").strip()[:60]
    rows = services.list_assets(current_user, type_=type_[:40] if type_ else None, sort=sort, q=q,
                                custom=custom,
                                after_id=int(after) if after.isdigit() and len(after) < 19 else None)
    list_args = {k: v for k, v in args.items() if k != "after"}
    columns = [d for d in defs if d.type not in ("long_text", "photo", "file")][:3]
    return render_template("assets/index.html", assets=rows, types=services.asset_types(), type_=type_, q=q,
                           sort=sort, filter_defs=list(filterable.values()), active_custom=raw, list_args=list_args,
                           filter_errors=filter_errors(filterable, raw),
                           column_defs=columns, linked=linked(columns, [a.custom for a in rows]),
                           locale=current_code(), identifiers=services.identifiers_of([a.id for a in rows]),
                           next_after=rows[-1].id if len(rows) == 50 else None)


@bp.post("/assets/<int:asset_id>/readings")
@requires("customers.manage")
def add_reading(asset_id):
    asset = services.get_asset(current_user, asset_id)
    if asset is None:
        abort(404)
    data, errors = load_form(ReadingSchema())
    if data is not None:
        try:
            services.add_reading(current_user, asset, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        db.session.rollback()
        return _render_show(asset, errors, 422)
    flash(_("Reading saved."), "success")
    return redirect(url_for("assets.show", asset_id=asset.id))
