"""Car-audio pages (phone first): jobs, a quote from a package, the job's own page for every step, tuning
records and their comparison, upgrade candidates. Thin: parse, call a service, render."""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from storecrm.sdk import (Customer, as_id, flatten_errors, get_customer, get_scoped, refuse, requires,
                          search_customers, tenant_zone)

from . import labels, services

bp = Blueprint("car_audio", __name__, url_prefix="/car-audio", template_folder="templates")

VIEW, WORK, MANAGE = "car_audio.view", "car_audio.work", "car_audio.manage"


def _job_or_404(job_id):
    job = services.get_job(current_user, job_id)
    if job is None:
        abort(404)
    return job


def _common():
    return {"statuses": labels.STATUSES, "tiers": labels.TIERS, "kinds": labels.COMPONENT_KINDS,
            "positions": labels.POSITIONS, "photo_kinds": labels.PHOTO_KINDS, "checklist": labels.CHECKLIST,
            "inspection_labels": labels.INSPECTION, "reasons": labels.REASONS, "channels": labels.CHANNELS}


@bp.get("/")
@requires(VIEW)
def jobs():
    status = request.args.get("status") or None
    if status not in labels.STATUSES:
        status = None
    mine = request.args.get("mine") == "1"
    rows = services.list_jobs(current_user, status=status, mine=mine)
    orders = services.orders_without_job(current_user) if current_user.has_permission(MANAGE) else []
    return render_template("car_audio/jobs.html", rows=rows, status=status, mine=mine, orders=orders, **_common())


@bp.route("/quote", methods=["GET", "POST"])
@requires(MANAGE)
def new_quote():
    errors, values = {}, request.values
    customer = get_customer(current_user, as_id(values.get("customer_id"))) if values.get("customer_id") else None
    if request.method == "POST":
        try:
            data = services.QuoteSchema().load({k: v for k, v in request.form.items() if k != "csrf_token" and v != ""})
            quote = services.create_quote(current_user, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Quote drafted from the package: check it, then submit it for approval."), "success")
            return redirect(url_for("sales.quote", quote_id=quote.id))
    q = (values.get("q") or "").strip()
    found = search_customers(current_user, q)[:10] if q and customer is None else []
    vehicles = services.vehicles_of(customer.id) if customer else []
    return render_template("car_audio/quote.html", customer=customer, found=found, q=q,
                           vehicles=vehicles, vehicle_options=[(v.id, v.name) for v in vehicles],
                           packages=services.packages(), values=values, errors=errors,
                           **_common()), (422 if errors else 200)


@bp.post("/orders/<int:order_id>/job")
@requires(MANAGE)
def job_for_order(order_id):
    try:
        job = services.create_job_for_order(current_user, order_id)
    except ValidationError:
        abort(404)
    return redirect(url_for("car_audio.job", job_id=job.id))


@bp.get("/jobs/<int:job_id>")
@requires(VIEW)
def job(job_id, errors=None, status_code=200):
    job = _job_or_404(job_id)
    customer = get_scoped(Customer, job.customer_id)
    from storecrm.sdk import Asset, User
    vehicle = get_scoped(Asset, job.vehicle_id) if job.vehicle_id else None
    technician = get_scoped(User, job.technician_id) if job.technician_id else None
    bay = None
    if job.bay_id:
        from storecrm.sdk import Resource
        bay = get_scoped(Resource, job.bay_id)
    ranking = services.technicians_ranked(job) if job.status in ("new", "booked") else []
    tunings = services.tunings_of(job.audio_system_id)
    components = services.components_of(job.audio_system_id)
    return render_template(
        "car_audio/job.html", job=job, customer=customer, vehicle=vehicle, technician=technician, bay=bay,
        ranking=ranking, bays=services.bays(job.store_id) if job.status in ("new", "booked") else [],
        components=components, tunings=tunings, cards=cards_of(components),
        steps=services.steps_of(job), balance=services.order_balance(job), items=services.installable_items()
        if job.status in ("checked_in", "installing") else [], addons=services.addons_of(job),
        quote_states=labels.QUOTE_STATES, errors=errors or {}, values=request.form, **_common()), status_code


ACTIONS = ("addon", "book", "photo", "check_in", "start", "checklist", "component", "submit_qc", "qc_pass", "qc_rework",
           "accept", "deliver", "follow_up", "cancel")
NEEDS = {"book": MANAGE, "qc_pass": MANAGE, "qc_rework": MANAGE, "deliver": MANAGE, "follow_up": MANAGE,
         "cancel": MANAGE}


@bp.post("/jobs/<int:job_id>/<action>")
@requires(VIEW)
def job_action(job_id, action):
    job = _job_or_404(job_id)
    if action not in ACTIONS:
        abort(404)
    if not current_user.has_permission(NEEDS.get(action, WORK)) and not current_user.has_permission(MANAGE):
        abort(403)
    form = request.form
    try:
        if action == "book":
            data = services.BookingSchema().load({"starts_at": _local(form.get("starts_at")),
                                                  "technician_id": form.get("technician_id") or None,
                                                  "bay_id": form.get("bay_id") or None})
            services.book_job(current_user, job, data)
        elif action == "addon":
            data = services.AddonSchema().load({k: form.get(k) or None for k in ("item_id", "quantity", "labour_hours",
                                                                                  "notes")
                                                if form.get(k)})
            quote = services.create_addon_quote(current_user, job, data)
            flash(_("Add-on quote drafted: submit it, send it, and let the customer sign it on the link."), "success")
            return redirect(url_for("sales.quote", quote_id=quote.id))
        elif action == "photo":
            upload = request.files.get("file")
            kind = form.get("kind", "")
            if upload is None or not upload.filename:
                raise ValidationError({"photo_" + kind if kind in labels.PHOTO_KINDS else "kind":
                                       [_("Choose a photo.")]})
            services.add_photo(current_user, job, kind, upload.filename, upload.read())
        elif action == "check_in":
            data = services.InspectionSchema().load({
                "scratches": "scratches" in form, "warning_lights": "warning_lights" in form,
                "electrics": "electrics" in form, "notes": form.get("notes", ""),
                "signed_name": form.get("signed_name", "").strip(), "signature": form.get("signature", "")})
            services.check_in(current_user, job, data)
        elif action == "start":
            services.start_install(current_user, job)
        elif action == "checklist":
            services.set_checklist(current_user, job, set(form.getlist("done")))
        elif action == "component":
            data = services.ComponentSchema().load({k: form.get(k) or None for k in ("item_id", "kind", "position",
                                                                                      "serial")})
            services.install_component(current_user, job, data)
        elif action == "submit_qc":
            services.submit_for_qc(current_user, job)
        elif action == "qc_pass":
            services.qc_pass(current_user, job)
        elif action == "qc_rework":
            services.qc_rework(current_user, job, form.get("reason", ""))
        elif action == "accept":
            data = services.AcceptanceSchema().load({"name": form.get("name", "").strip(),
                                                     "signature": form.get("signature", "")})
            services.accept(current_user, job, data)
        elif action == "deliver":
            services.deliver(current_user, job)
        elif action == "follow_up":
            data = services.FollowUpSchema().load({"notes": form.get("notes", ""), "reasons": form.getlist("reasons")})
            services.record_follow_up(current_user, job, data)
        elif action == "cancel":
            services.cancel(current_user, job, form.get("reason", ""))
    except ValidationError as err:
        refuse()
        return _rerender(job_id, flatten_errors(err.messages))
    flash(_("Saved."), "success")
    return redirect(url_for("car_audio.job", job_id=job.id) + f"#{action}")


def _rerender(job_id, errors):
    """The job's page again with the messages; the request keeps nothing (status 422)."""
    return job(job_id, errors=errors, status_code=422)


def _local(raw):
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the schema names the field
    return (value if value.tzinfo else value.replace(tzinfo=tenant_zone())).isoformat()


@bp.route("/jobs/<int:job_id>/tuning", methods=["GET", "POST"])
@requires(WORK)
def tuning(job_id):
    job = _job_or_404(job_id)
    errors = {}
    previous = (services.tunings_of(job.audio_system_id) or [None])[0]
    if request.method == "POST":
        form = request.form
        try:
            data = _tuning_from_form(form)
            record = services.record_tuning(current_user, job, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Tuning version %(version)s saved.", version=record.version), "success")
            return redirect(url_for("car_audio.tuning_record", tuning_id=record.id))
    return render_template("car_audio/tuning_form.html", job=job, previous=previous, errors=errors,
                           values=request.form, **_common()), (422 if errors else 200)


def _num(raw):
    raw = (raw or "").strip()
    return raw if raw else None


def _tuning_from_form(form):
    eq, crossovers, channels = [], [], {}
    for n in range(6):
        if _num(form.get(f"eq-{n}-freq_hz")):
            eq.append({"channel": form.get(f"eq-{n}-channel"), "freq_hz": _num(form.get(f"eq-{n}-freq_hz")),
                       "gain_db": _num(form.get(f"eq-{n}-gain_db")) or "0", "q": _num(form.get(f"eq-{n}-q")) or "1"})
    for n in range(4):
        if _num(form.get(f"x-{n}-freq_hz")):
            crossovers.append({"channel": form.get(f"x-{n}-channel"), "type": form.get(f"x-{n}-type"),
                               "freq_hz": _num(form.get(f"x-{n}-freq_hz")), "slope": _num(form.get(f"x-{n}-slope"))})
    for channel in labels.CHANNELS:
        values = {k: _num(form.get(f"ch-{channel}-{k}")) for k in ("delay_ms", "phase", "gain_db")}
        if any(v is not None for v in values.values()):
            channels[channel] = {k: v for k, v in values.items() if v is not None}
    return {"eq": eq, "crossovers": crossovers, "channels": channels, "notes": form.get("notes") or None}


@bp.get("/tunings/<int:tuning_id>")
@requires(VIEW)
def tuning_record(tuning_id):
    record = services.get_tuning(current_user, tuning_id)
    if record is None:
        abort(404)
    versions = services.tunings_of(record.audio_system_id)
    against_id = as_id(request.args.get("against"))
    against = next((v for v in versions if v.id == against_id), None) if against_id else \
        next((v for v in versions if v.version < record.version), None)
    job = services.get_job(current_user, record.job_id) if record.job_id else None
    return render_template("car_audio/tuning.html", record=record, versions=versions, against=against, job=job,
                           rows=services.compare_tunings(against, record), **_common())


@bp.post("/components/<int:component_id>/warranty")
@requires(MANAGE)
def warranty_swap(component_id):
    component = services.get_component(current_user, component_id)
    if component is None:
        abort(404)
    try:
        data = services.WarrantySwapSchema().load({"serial": request.form.get("serial") or None,
                                                   "reason": request.form.get("reason", "").strip()})
        services.warranty_swap(current_user, component, data)
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("Replaced under warranty; the return to the distributor is a task for the manager."), "success")
    job = services.get_job(current_user, component.job_id) if component.job_id else None
    return redirect(url_for("car_audio.job", job_id=job.id) if job else url_for("car_audio.jobs"))


@bp.get("/upgrades")
@requires(MANAGE)
def upgrades():
    return render_template("car_audio/upgrades.html", rows=services.upgrade_candidates(current_user),
                           cross_sell=services.cross_sell(), **_common())



# --- electronic warranty card (电子保修卡): public, the signed link is the key ------------------------------------

def cards_of(components) -> dict:
    """{component id: {"url", "qr"}} for the components with a serial (staff pages show the link and its QR)."""
    return {c.id: {"url": (url := card_url(c)), "qr": qr_svg(url, 3)} for c in components if c.serial}


def card_url(component) -> str:
    """The public URL of a component's warranty card (signed token; no login)."""
    return url_for("car_audio.warranty_card", token=services.card_token(component), _external=True)


def qr_svg(data: str, scale: int = 4) -> str:
    import segno
    return segno.make(data, error="m").svg_inline(scale=scale, border=2, dark="#212529", omitsize=True)


@bp.get("/warranty/<token>")
def warranty_card(token):
    """The customer's electronic warranty card of one serial: shop, component, masked car, dates, QR of itself."""
    component = services.component_from_card_token(token)
    if component is None:
        abort(404)
    url = url_for("car_audio.warranty_card", token=token, _external=True)
    return render_template("car_audio/warranty_card.html", card=services.card_facts(component), url=url,
                           qr=qr_svg(url), **_common())


@bp.post("/components/<int:component_id>/send-card")
@requires(WORK)
def send_warranty_card(component_id):
    """The card's link to the customer by SMS (through the outbox)."""
    component = services.get_component(current_user, component_id)
    if component is None or not component.serial:
        abort(404)
    try:
        services.send_card(current_user, component, card_url(component))
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("The warranty card was sent to the customer by SMS."), "success")
    back = request.form.get("next") or ""
    if back.startswith("/") and not back.startswith("//"):  # the asset page it was sent from (same site only)
        return redirect(back)
    job = services.get_job(current_user, component.job_id) if component.job_id else None
    return redirect(url_for("car_audio.job", job_id=job.id) + "#component" if job else url_for("car_audio.jobs"))
