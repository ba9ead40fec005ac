from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from ..customers.services import get_customer
from ..web.forms import flash_errors, flatten_errors, load_form, requires
from ..web.redirects import safe_next
from . import services
from .schemas import InteractionSchema, TaskSchema

bp = Blueprint("activities", __name__)


def _customer_or_404(customer_id):
    customer = get_customer(current_user, customer_id)
    if customer is None:
        abort(404)
    return customer


def _back_to_customer_with_errors(customer, errors, form):
    """The customer page again, its task or interaction form showing `errors`. The page is the customers module's
    view, reached through the app's view table: activities sit above customers and never import their views."""
    g.activity_errors = (form, errors)
    return current_app.view_functions["customers.show"](customer_id=customer.id), 422


@bp.post("/customers/<int:customer_id>/interactions")
@requires("customers.view")
def log_interaction(customer_id):
    customer = _customer_or_404(customer_id)
    data, errors = load_form(InteractionSchema())
    if errors:
        return _back_to_customer_with_errors(customer, errors, "interaction")
    services.log_interaction(current_user, customer, data)
    flash(_("Saved to the timeline."), "success")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.post("/customers/<int:customer_id>/tasks")
@requires("customers.view")
def add_task(customer_id):
    customer = _customer_or_404(customer_id)
    data, errors = load_form(TaskSchema())
    if not errors:
        try:
            services.create_task(current_user, {**data, "customer_id": customer.id})
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        return _back_to_customer_with_errors(customer, errors, "task")
    flash(_("Task added."), "success")
    return redirect(url_for("customers.show", customer_id=customer.id))


@bp.get("/tasks/")
@login_required
def my_tasks():
    show_done = request.args.get("done") == "1"
    tasks = services.my_tasks(current_user, include_done=show_done)
    return render_template("activities/tasks.html", tasks=tasks, show_done=show_done,
                           names=services.customer_names({t.customer_id for t in tasks if t.customer_id}))


@bp.post("/tasks/<int:task_id>/status")
@login_required
def set_status(task_id):
    task = services.visible_task(current_user, task_id)
    if task is None:
        abort(404)
    status = request.form.get("status", "")
    try:
        services.update_task(current_user, task, TaskSchema(partial=True).load({"status": status}))
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("activities.my_tasks")), 303
    return redirect(safe_next(request.form.get("next"), url_for("activities.my_tasks")))
