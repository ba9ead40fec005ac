from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..stores.services import stores_visible_to
from ..validation import display_phone
from ..web.forms import flatten_errors, load_form, requires
from . import services
from .schemas import CustomerSchema

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/")
@requires("customers.view")
def index():
    q = (request.args.get("q") or "").strip()[:100]
    after = request.args.get("after", "")
    after_id = int(after) if after.isdigit() and len(after) < 19 else None
    store_id = session.get("store_id")
    rows = services.list_customers(current_user, q=q, store_id=store_id, after_id=after_id)
    total = services.count_customers(current_user, q=q, store_id=store_id)
    contacts = {c.id: services.contact_view(current_user, c) for c in rows}
    more = len(rows) == services.PAGE_SIZE
    return render_template("customers/index.html", customers=rows, contacts=contacts, q=q, total=total,
                           next_after=rows[-1].id if more else None)


@bp.get("/<int:customer_id>")
@requires("customers.view")
def show(customer_id):
    customer = services.get_customer(current_user, customer_id)
    if customer is None:
        abort(404)
    from ..plugin_host.runtime import enabled_plugins, host

    panels = sorted((p for p in host().items("register_customer_panels", enabled_plugins())
                     if p.permission is None or current_user.has_permission(p.permission)), key=lambda p: p.order)
    return render_template("customers/show.html", customer=customer,
                           contact=services.contact_view(current_user, customer),
                           panels=[(panel, panel.context(customer)) for panel in panels])


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


def _form(customer):
    schema = CustomerSchema()
    errors = {}
    values = schema.dump(customer) if customer else {"store_id": session.get("store_id")}
    if customer:
        values["mobile"] = display_phone(customer.mobile)
    if customer and not current_user.has_permission("customers.contact"):
        abort(403)  # editing would reveal the full contact details
    if request.method == "POST":
        data, errors = load_form(schema)
        values = dict(request.form)
        if data is not None:
            try:
                saved = services.update_customer(current_user, customer, data) if customer else \
                    services.create_customer(current_user, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Customer %(name)s saved.", name=saved.name), "success")
                return redirect(url_for("customers.show", customer_id=saved.id))
    return render_template("customers/form.html", customer=customer, values=values, errors=errors,
                           stores=stores_visible_to(current_user)), (422 if errors else 200)
