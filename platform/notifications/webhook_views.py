from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..web.forms import flatten_errors, load_form, requires
from . import webhooks
from .outbox import replay
from .schemas import WebhookEndpointSchema

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.route("/", methods=["GET", "POST"])
@requires("webhooks.manage")
def index():
    errors, values = {}, {}
    if request.method == "POST":
        data, errors = load_form(WebhookEndpointSchema())
        values = {**request.form, "events": request.form.getlist("events")}
        if data is not None:
            try:
                endpoint = webhooks.create_endpoint(data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Webhook added. Its signing secret is on its page."), "success")
                return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))
    return render_template("notifications/webhooks.html", endpoints=webhooks.endpoints(), events=webhooks.EVENTS,
                           values=values, errors=errors), (422 if errors else 200)


def _endpoint(endpoint_id):
    endpoint = webhooks.get_endpoint(endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


@bp.get("/<int:endpoint_id>")
@requires("webhooks.manage")
def show(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    return render_template("notifications/webhook.html", endpoint=endpoint, deliveries=webhooks.deliveries(endpoint))


@bp.post("/<int:endpoint_id>/ping")
@requires("webhooks.manage")
def ping(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    webhooks.ping(endpoint)
    flash(_("A test event is on its way."), "info")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/active")
@requires("webhooks.manage")
def toggle(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    webhooks.update_endpoint(endpoint, {"active": request.form.get("active") == "1"})
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/delete")
@requires("webhooks.manage")
def delete(endpoint_id):
    webhooks.delete_endpoint(_endpoint(endpoint_id))
    flash(_("Webhook deleted."), "info")
    return redirect(url_for("webhooks.index"))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
@requires("webhooks.manage")
def replay_delivery(endpoint_id, delivery_id):
    endpoint = _endpoint(endpoint_id)
    delivery = webhooks.get_delivery(endpoint, delivery_id)
    if delivery is None:
        abort(404)
    replay(delivery)
    flash(_("The delivery will be sent again."), "info")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))
