"""The erasure page of a customer (PIPL): what will happen, the reason and the typed name; afterwards what was done."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..customers.models import Customer
from ..customers.services import get_customer
from ..tenancy.models import get_scoped
from ..web.forms import flatten_errors, requires
from . import services as erasing

bp = Blueprint("erasure", __name__, url_prefix="/customers")


@bp.route("/<int:customer_id>/erasure", methods=["GET", "POST"])
@requires("customers.erase")
def page(customer_id):
    """PIPL erasure: what will happen, the reason, the typed name as confirmation; afterwards, what was done."""
    customer = get_customer(current_user, customer_id)
    if customer is None:
        return _erasure_result(customer_id)
    errors, values = {}, {}
    if request.method == "POST":
        values = {"reason": request.form.get("reason", ""), "confirm_name": request.form.get("confirm_name", "")}
        try:
            erasing.erase_customer(current_user, customer, values["reason"], values["confirm_name"])
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("The customer's personal data was erased."), "success")
            return redirect(url_for("erasure.page", customer_id=customer_id), 303)
    return render_template("customers/erasure.html", customer=customer, plan=erasing.plan(customer),
                           reasons=erasing.REASONS, errors=errors, values=values, entry=None), (422 if errors else 200)


def _erasure_result(customer_id):
    """After the erasure, to those who may erase: who, when and why, with the counts (nothing personal is left)."""
    gone = get_scoped(Customer, customer_id)
    if gone is None or gone.status != erasing.ERASED or \
            not (current_user.sees_all_stores or gone.store_id in current_user.store_ids):
        abort(404)
    entry = erasing.erasure_entry(customer_id)
    if entry is None:
        abort(404)
    return render_template("customers/erasure.html", customer=gone, entry=entry, reasons=erasing.REASONS,
                           plan=None, errors={}, values={})
