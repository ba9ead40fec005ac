"""The customer's self-service request page (自助报修) and the work order's tracking link. No login.

Same pattern as the core's public booking page: the visitor gives name and mobile, gets a six-digit code by SMS
(the outbox, erased from it once sent), kept in the visitor's signed session only as an HMAC, for ten minutes and
five tries. A right code proves the mobile for thirty minutes; the page then shows that customer's own properties
and devices (One-ID: the mobile's customer, or a new one) and nothing of anyone else's. POSTs are rate limited per
address; a honeypot field catches simple bots. The tracking link is an unguessable token of the work order: it
shows the progress, the engineer's name and the signed report, never the address or the phone."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (Customer, Store, User, accept_upload, bind_public_visitor, current_tenant_id,
                          customer_for_public_request, db, flatten_errors, get_scoped, limiter, mask_phone,
                          normalize_identity, refuse, send_template, utcnow)

from . import services
from .models import FAULT_TYPES, ORDER_KINDS, STATES, Property

bp = Blueprint("smart_home_public", __name__, url_prefix="/smart-home/public", template_folder="templates")
LIMIT = "10 per minute;60 per hour"
PENDING, VERIFIED = "smart_home.request.pending", "smart_home.request.verified"
CODE_TTL, VERIFIED_TTL, CODE_TRIES, MAX_PHOTOS = timedelta(minutes=10), timedelta(minutes=30), 5, 4


@bp.context_processor
def _labels():
    return {"state_labels": STATES, "kind_labels": ORDER_KINDS, "fault_labels": FAULT_TYPES}


def _digest(mobile: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"smart_home:{current_tenant_id()}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def _store():
    store = db.session.scalar(select(Store).where(Store.active.is_(True)).order_by(Store.id).limit(1))
    if store is None:
        abort(404)
    return store


def _verified_customer():
    verified = session.get(VERIFIED)
    if (not verified or verified.get("tenant") != current_tenant_id()
            or verified.get("expires", 0) < utcnow().timestamp()):
        return None
    customer = get_scoped(Customer, verified.get("customer"))
    return customer if customer is not None and customer.deleted_at is None else None


@bp.route("/request", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
def request_page():
    """Step 1: name and mobile → a code by SMS; step 2: the code."""
    store = _store()
    errors, values, step = {}, request.form.to_dict(), "mobile"
    if request.method == "POST":
        if request.form.get("website"):  # the honeypot: people never see this field
            refuse()
            abort(400)
        try:
            if "code" in request.form:
                _confirm(store, request.form.get("code", ""))
                return redirect(url_for("smart_home_public.details"))
            _send_code(store)
            step = "code"
        except ValidationError as err:
            refuse()
            errors = flatten_errors(err.messages)
            step = "code" if "code" in errors else "mobile"
    pending = session.get(PENDING)
    return render_template("smart_home/public_request.html", store=store, step=step, values=values, errors=errors,
                           masked=mask_phone(pending["mobile"]) if pending and step == "code" else ""), \
        (422 if errors else 200)


def _send_code(store) -> None:
    errors = {}
    try:
        mobile = normalize_identity("mobile", request.form.get("mobile", ""))
    except ValidationError:
        errors["mobile"], mobile = [_("Enter a valid mobile number.")], None
    name = (request.form.get("name") or "").strip()[:80]
    if not name:
        errors["name"] = [_("Enter your name.")]
    if errors:
        raise ValidationError(errors)
    code = f"{secrets.randbelow(10**6):06d}"
    session[PENDING] = {"tenant": current_tenant_id(), "mobile": mobile, "name": name, "code": _digest(mobile, code),
                        "expires": (utcnow() + CODE_TTL).timestamp(), "tries": 0}
    # the body holds a credential (erased once sent); a person waits for it on the page (never held)
    send_template("sms", mobile, "smart_home.request_code", {"store": store.name, "code": code},
                  payload={"scrub": True, "verification": True})


def _confirm(store, code: str) -> None:
    pending = session.get(PENDING)
    if (not pending or pending.get("tenant") != current_tenant_id()
            or pending.get("expires", 0) < utcnow().timestamp() or pending.get("tries", 0) >= CODE_TRIES):
        session.pop(PENDING, None)
        raise ValidationError({"mobile": [_("The code has expired. Please ask for a new one.")]})
    if not hmac.compare_digest(pending["code"], _digest(pending["mobile"], code.strip())):
        pending["tries"] = pending.get("tries", 0) + 1
        session[PENDING] = pending
        raise ValidationError({"code": [_("This code is not right. Check the SMS and try again.")]})
    customer = customer_for_public_request(store, pending["name"], pending["mobile"])
    session.pop(PENDING, None)
    session[VERIFIED] = {"tenant": current_tenant_id(), "customer": customer.id,
                         "expires": (utcnow() + VERIFIED_TTL).timestamp()}


@bp.route("/request/details", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
def details():
    """Step 3: which property and device, what is wrong, photos."""
    customer = _verified_customer()
    if customer is None:
        return redirect(url_for("smart_home_public.request_page"))
    properties, devices = services.properties_of(customer.id), services.devices_of(customer.id)
    errors = {}
    if request.method == "POST":
        try:
            order = _create(customer, properties)
        except ValidationError as err:
            refuse()
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("smart_home_public.track", token=order.tracking_token, new=1))
    return render_template("smart_home/public_details.html", customer=customer, properties=properties,
                           devices=devices, values=request.form, errors=errors), (422 if errors else 200)


def _create(customer, properties):
    form = request.form
    errors = {}
    property_id = form.get("property_id", type=int)
    if property_id is None and properties:
        errors["property_id"] = [_("Choose the address.")]
    fault = form.get("fault_type") or ""
    if fault not in FAULT_TYPES:
        errors["fault_type"] = [_("Choose the kind of fault.")]
    description = (form.get("description") or "").strip()
    if not description:
        errors["description"] = [_("Describe the problem.")]
    elif len(description) > 2000:
        errors["description"] = [_("At most 2000 characters.")]
    if not properties:
        try:
            data = services.PropertySchema().load({"label": _("My home"), "address": form.get("address") or "",
                                                   "district": form.get("district") or "", "kind": "apartment"})
        except ValidationError as err:
            errors.update({k: v for k, v in err.messages.items() if k in ("address", "district")})
            data = None
    if errors:
        raise ValidationError(errors)
    if not properties:
        property_id = services.save_property(None, customer, data).id
    photos = [f for f in request.files.getlist("photos") if f and f.filename][:MAX_PHOTOS]
    photo_ids = [accept_upload(None, f.filename, f.read(), images_only=True, field="photos").id for f in photos]
    return services.create_work_order(None, {
        "kind": "repair", "customer_id": customer.id, "property_id": property_id,
        "asset_id": form.get("asset_id", type=int), "fault_type": fault, "description": description[:2000],
        "due_on": None, "store_id": customer.store_id}, source="public", photo_ids=photo_ids)


@bp.get("/track/<token>")
def track(token):
    order = services.order_by_token(token)
    if order is None:
        abort(404)
    if (response := bind_public_visitor(get_scoped(Customer, order.customer_id))) is not None:
        return response                # inside WeChat: sign in once, the customer's openid is bound
    engineer = get_scoped(User, order.engineer_id) if order.engineer_id else None
    prop = get_scoped(Property, order.property_id) if order.property_id else None
    return render_template("smart_home/public_track.html", order=order, engineer=engineer,
                           district=prop.district if prop else None, history=services.history_of(order.id),
                           parts=services.parts_of(order.id), new=request.args.get("new") == "1")
