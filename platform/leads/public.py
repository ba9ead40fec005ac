"""Public capture surfaces of a channel: its lead form (a signed link, phone-first, embeddable in an iframe, with a
QR code for posters and auto shows) and its signed inbound webhook for third-party platforms.

The form never tells a visitor whether the mobile was known: a new lead and a repeat enquiry get the same thank-you
page. POSTs are rate limited per address and a honeypot field catches simple bots. The webhook answers
application/problem+json: 401 for a bad signature or stale timestamp, 409 for a replayed delivery, 422 for bad
data — and a refused delivery stores nothing."""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..extensions import csrf, limiter
from ..tenancy.models import get_scoped
from ..web.forms import flatten_errors
from ..web.transactions import refuse
from . import inbound, services
from .models import LeadChannel
from .schemas import CaptureSchema
from .tokens import channel_from_token

bp = Blueprint("lead_public", __name__, url_prefix="/lead")
LIMIT = "10 per minute;60 per hour"
WEBHOOK_LIMIT = "120 per minute"


def _channel(token: str) -> LeadChannel:
    channel = get_scoped(LeadChannel, channel_from_token(token))
    if channel is None or not channel.active:
        abort(404)
    return channel


def embeddable(response):
    """This answer may be shown inside another site's iframe (the channel's embed snippet)."""
    response.embeddable = True
    return response


@bp.route("/form/<token>", methods=["GET", "POST"])
@csrf.exempt  # an anonymous form, often inside another site's iframe where our session cookie is third-party
@limiter.limit(LIMIT, methods=["POST"])
def form(token):
    channel = _channel(token)
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        if request.form.get("website"):  # the honeypot: people never see this field
            refuse()
            abort(400)
        try:
            data = CaptureSchema().load({"name": values.get("name", ""), "mobile": values.get("mobile", ""),
                                         "interest": values.get("interest") or None,
                                         "notes": values.get("notes") or None,
                                         "consent": values.get("consent") == "1"})
            if not data.get("consent"):
                raise ValidationError({"consent": [_("Please agree to be contacted about your enquiry.")]})
            services.capture(channel, data, source="form")
        except ValidationError as err:
            refuse()
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("lead_public.thanks", token=token))
    response = current_app.make_response((render_template("leads/public_form.html", channel=channel, token=token,
                                                          values=values, errors=errors), 422 if errors else 200))
    return embeddable(response)


@bp.get("/form/<token>/thanks")
def thanks(token):
    channel = _channel(token)
    return embeddable(current_app.make_response(render_template("leads/public_thanks.html", channel=channel,
                                                                token=token)))


def _problem(status: int, detail: str, errors: dict | None = None):
    refuse()
    body = {"type": "about:blank", "title": {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                                             409: "Conflict", 422: "Unprocessable Content"}[status],
            "status": status, "detail": detail, "request_id": g.get("request_id")}
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status,
                                          mimetype="application/problem+json")
    return response


@bp.post("/inbound/<int:channel_id>")
@csrf.exempt
@limiter.limit(WEBHOOK_LIMIT)
def inbound_webhook(channel_id):
    """A platform's lead, signed with the channel's secret (storecrm.leads.inbound says how)."""
    channel = get_scoped(LeadChannel, channel_id)
    if channel is None or not channel.active:
        return _problem(404, "No such channel.")
    body = request.get_data(cache=True)
    try:
        inbound.verify(channel, body, request.headers.get("X-StoreCRM-Timestamp"),
                       request.headers.get("X-StoreCRM-Signature"))
        delivery = inbound.claim_delivery(channel, request.headers.get("X-StoreCRM-Delivery"))
    except inbound.Refused as refused:
        return _problem(refused.status, refused.detail)
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return _problem(400, "The body is not JSON.")
    if not isinstance(payload, dict):
        return _problem(422, "Send a JSON object.", {"_schema": ["Send a JSON object."]})
    try:
        data = CaptureSchema().load({k: payload.get(k) for k in ("name", "mobile", "interest", "notes", "consent",
                                                                  "campaign_id") if payload.get(k) is not None})
        lead, created = services.capture(channel, data, source="webhook")
    except ValidationError as err:
        return _problem(422, "The lead was not accepted.", flatten_errors(err.messages))
    delivery.lead_id = lead.id
    return jsonify({"lead_id": lead.id, "created": created}), 201 if created else 200
