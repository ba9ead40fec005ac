from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from ..audit.labels import ACTION_LABELS
from ..customers.models import Customer
from ..fields.engine import definitions, filter_errors, linked
from ..fields.forms import custom_from_form, form_errors
from ..hooks.blocks import customer_panels
from ..stores.services import stores_visible_to
from ..tenancy.models import get_scoped as _get
from ..tenancy.models import get_scoped
from ..users.models import User
from ..users.services import list_users
from ..validation import display_phone
from ..web.redirects import safe_next
from ..web.forms import flash_errors, flatten_errors, load_form, requires
from ..web.i18n import current_code
from . import identities, merging, services
from .bulk import save_view as save
from .bulk import delete_view as delete
from .bulk import apply, views_for
from .listing import from_args
from .schemas import CustomerSchema
from .timeline import timeline

bp = Blueprint("customers", __name__, url_prefix="/customers")

TIMELINE_LABELS = {
    "interaction:call": _l("Call"), "interaction:visit": _l("Visit"), "interaction:message": _l("Message"),
    "interaction:note": _l("Note"), "task": _l("Task"), "change": _l("Change"), "rule": _l("Automation"),
    "appointment": _l("Appointment"), "sales": _l("Sales"), "lead": _l("Lead"), "survey": _l("Survey"),
}


def _timeline_labels() -> dict:
    """The core's timeline kinds, plus each plugin's name as a kind (a plugin's entries say `kind="<its name>"`),
    labelled with the plugin's label in the user's language rather than its code."""
    from flask import current_app

    infos = current_app.extensions["storecrm"].infos
    return {**{name: info.label_for(current_code()) for name, info in infos.items()}, **TIMELINE_LABELS}


@bp.get("/")
@requires("customers.view")
def index():
    after = request.args.get("after", "")
    after_id = int(after) if after.isdigit() and len(after) < 19 else None
    view = from_args(current_user, request.args, session.get("store_id"))
    flt, sort, q = view.filter, view.sort, view.filter.q
    custom_defs = view.defs
    rows = services.list_customers(current_user, flt, after_id=after_id, sort=sort)
    total = services.total_for_page(current_user, flt, rows, after_id=after_id, limit=services.PAGE_SIZE)
    contacts = {c.id: services.contact_view(current_user, c) for c in rows}
    more = len(rows) == services.PAGE_SIZE

    return render_template("customers/index.html", customers=rows, contacts=contacts, q=q, total=total, flt=flt,
                           saved_views=views_for(current_user), view_errors={},
                           filter_defs=list(view.filterable.values()), sort=sort,
                           column_defs=[d for d in custom_defs if d.type not in ("long_text", "photo", "file")][:3],
                           linked=linked(custom_defs, [c.custom for c in rows]),
                           active_custom=view.custom_raw, filter_errors=filter_errors(view.filterable, view.custom_raw),
                           locale=current_code(),
                           staff=list_users(current_user), next_after=rows[-1].id if more else None)


@bp.post("/views")
@requires("customers.view")
def save_view():
    from urllib.parse import parse_qsl, urlsplit

    query = dict(parse_qsl(urlsplit(request.form.get("current", "")).query))
    try:
        view = save(current_user, request.form.get("view_name", ""), query, request.form.get("shared") == "1")
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("customers.index", **query)), 303
    flash(_("View %(name)s saved.", name=view.name), "success")
    return redirect(url_for("customers.index", **view.query))


@bp.post("/views/<int:view_id>/delete")
@requires("customers.view")
def delete_view(view_id):
    if not delete(current_user, view_id):
        abort(404)
    flash(_("View deleted."), "info")
    return redirect(url_for("customers.index"))


@bp.post("/bulk")
@requires("customers.manage")
def bulk():
    try:
        count = apply(current_user, request.form.get("action", ""), request.form.getlist("ids"),
                      request.form.get("value", ""))
    except ValidationError as err:
        flash_errors(err)
        return redirect(_back()), 303
    flash(_("%(n)d customers updated.", n=count), "success")
    return redirect(_back())


def _back():
    return safe_next(request.form.get("next"), url_for("customers.index"))


@bp.get("/<int:customer_id>")
@requires("customers.view")
def show(customer_id):
    customer = services.get_customer(current_user, customer_id)
    if customer is None:
        return _merged_redirect(customer_id)
    return _show(customer)


def _show(customer, identity_errors=None, identity_values=None):
    from datetime import datetime, timezone

    kinds = {k for k in request.args.getlist("tl") if k and len(k) <= 40} or None
    try:
        before = datetime.fromisoformat(request.args["before"]) if request.args.get("before") else None
        if before is not None and before.tzinfo is None:
            before = None
        elif before is not None:  # PostgreSQL stores offsets up to ±15:59 only; Python allows ±23:59
            before = before.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        before = None
    entries, next_before = timeline(customer, kinds=kinds, before=before)

    owner = _get(User, customer.owner_id) if customer.owner_id else None

    custom_defs = definitions("customer", user=current_user)
    return render_template("customers/show.html", linked=linked(custom_defs, [customer.custom]), customer=customer, owner_name=owner.display_name if owner else None,
                           contact=services.contact_view(current_user, customer),
                           panels=customer_panels(current_user, customer),
                           identities=identities.identities_of(customer.id), kinds=identities.kinds(),
                           merges=merging.merges_of(customer.id), identity_errors=identity_errors or {},
                           identity_values=identity_values or {}, timeline=entries, next_before=next_before,
                           tl_kinds=kinds or set(), timeline_labels=_timeline_labels(),
                           action_labels=ACTION_LABELS, custom_defs=custom_defs, locale=current_code())


def _merged_redirect(customer_id):
    """A record merged away sends its old links to the survivor."""
    gone = get_scoped(Customer, customer_id)
    if gone is not None and gone.merged_into_id and services.get_customer(current_user, gone.merged_into_id):
        flash(_("%(name)s was merged into this customer.", name=gone.name), "info")
        return redirect(url_for("customers.show", customer_id=gone.merged_into_id))
    abort(404)


def _masked_guard(customer_id):
    customer = services.get_customer(current_user, customer_id)
    if customer is None:
        abort(404)
    if not current_user.has_permission("customers.contact"):
        abort(403)  # identities are contact details
    return customer


@bp.post("/<int:customer_id>/identities")
@requires("customers.manage")
def add_identity(customer_id):
    customer = _masked_guard(customer_id)
    try:
        identities.add(customer, request.form.get("kind", ""), request.form.get("value", ""))
    except ValidationError as err:
        return _show(customer, identity_errors=flatten_errors(err.messages),
                     identity_values=request.form), 422
    flash(_("Identity added."), "success")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.post("/<int:customer_id>/identities/<int:identity_id>/delete")
@requires("customers.manage")
def remove_identity(customer_id, identity_id):
    customer = _masked_guard(customer_id)
    if identities.remove(customer, identity_id) is None:
        abort(404)
    flash(_("Identity removed."), "info")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.route("/<int:customer_id>/merge", methods=["GET", "POST"])
@requires("customers.manage")
def merge(customer_id):
    """Side by side: pick the other record, choose per field which value survives, confirm."""
    survivor = _masked_guard(customer_id)
    raw = request.values.get("other_id", "")
    other = services.get_customer(current_user, raw) if raw.isdigit() and len(raw) < 19 else None
    errors = {}
    if raw and other is None:
        errors["other_id"] = [_("No such customer among the ones you may see.")]
    if request.method == "POST" and other is not None:
        choices = {f: request.form.get(f"choice_{f}", "survivor") for f in merging.MERGEABLE}
        try:
            merging.merge(survivor, other, choices)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Customers merged. You can undo this on the customer page."), "success")
            return redirect(url_for("customers.show", customer_id=survivor.id))
    return render_template("customers/merge.html", survivor=survivor, other=other, fields=merging.MERGEABLE,
                           errors=errors), (422 if errors else 200)


@bp.post("/merges/<int:merge_id>/undo")
@requires("customers.manage")
def unmerge(merge_id):
    row = merging.get_merge(merge_id)
    if row is None or services.get_customer(current_user, row.survivor_id) is None:
        abort(404)
    if not current_user.has_permission("customers.contact"):
        abort(403)
    try:
        restored = merging.unmerge(row)
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("customers.show", customer_id=row.survivor_id))
    flash(_("Merge undone."), "success")
    return redirect(url_for("customers.show", customer_id=restored.id))


@bp.get("/duplicates")
@requires("customers.manage")
def duplicates():
    return render_template("customers/duplicates.html", groups=merging.likely_duplicates(current_user))


@bp.route("/new", methods=["GET", "POST"])
@requires("customers.manage")
def new():
    return _form(None)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@requires("customers.manage")
def edit(customer_id):
    customer = services.get_customer(current_user, customer_id)
    if customer is None:
        abort(404)
    return _form(customer)


FIRST_FIELDS = ("name", "mobile", "store_id", "owner_id")  # shown before the "more details" fold


def new_customer_defaults(stores) -> dict:
    """A new customer belongs to the store being worked in (the switcher's, or the user's only store) and is
    looked after by whoever enters them."""
    store_id = session.get("store_id")
    if store_id is None:
        active = [s.id for s in stores if s.active]
        own = current_user.store_ids if not current_user.sees_all_stores else []
        store_id = own[0] if len(own) == 1 else (active[0] if len(active) == 1 else None)
    return {"store_id": store_id, "owner_id": current_user.id}


def _form(customer):
    custom_defs = definitions("customer", user=current_user)
    schema = CustomerSchema()
    errors, duplicates = {}, []
    stores = stores_visible_to(current_user)
    values = schema.dump(customer) if customer else new_customer_defaults(stores)
    if customer:
        values["mobile"] = display_phone(customer.mobile)
        values.update({f"cf_{k}": v for k, v in (customer.custom or {}).items()})
    else:
        values.update({f"cf_{d.code}": d.default for d in custom_defs if d.default is not None})
    if customer and not current_user.has_permission("customers.contact"):
        abort(403)  # editing would reveal the full contact details
    if request.method == "POST":
        data, errors = load_form(schema)
        custom, upload_errors = custom_from_form(custom_defs, current_user)
        values = {**request.form, **{f"cf_{k}": v for k, v in custom.items()}}
        errors = {**(errors or {}), **upload_errors}
        if data is not None and upload_errors:
            data = None
        if data is not None:
            data["custom"] = custom
            try:
                saved = services.update_customer(current_user, customer, data) if customer else \
                    services.create_customer(current_user, data)
            except ValidationError as err:
                errors = form_errors(flatten_errors(err.messages))
                duplicates = getattr(err, "customer_ids", [])
            else:
                if getattr(saved, "matched_existing", False):
                    flash(_("This is an existing customer: the new details were added to %(name)s.",
                            name=saved.name), "info")
                else:
                    flash(_("Customer %(name)s saved.", name=saved.name), "success")
                return redirect(url_for("customers.show", customer_id=saved.id))

    if isinstance(values.get("tags"), list):
        values["tags"] = ", ".join(values["tags"])
    shown = linked(custom_defs, [{d.code: values.get(f"cf_{d.code}") for d in custom_defs}])
    # the fold stays open when editing, when a folded field has a mistake, or when a custom field must be filled
    open_fold = bool(customer) or any(k not in FIRST_FIELDS for k in errors) or any(
        getattr(d, "required", False) for d in custom_defs)
    return render_template("customers/form.html", customer=customer, values=values, errors=errors, linked=shown,
                           open_fold=open_fold,
                           custom_defs=custom_defs, locale=current_code(), duplicates=duplicates, stores=stores,
                           staff=[u for u in list_users(current_user) if u.active]), (422 if errors else 200)
