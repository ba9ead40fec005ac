"""The dealership's pages (thin: parse, call a service, render): the workshop list with today's appointments,
reception, the repair order, the technician's queue and the KPI page."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from storecrm.sdk import (Appointment, CatalogItem, Customer, Store, User, accept_upload, db, document_totals,
                          flatten_errors, get_asset, get_file, get_lead, get_sales_order, get_scoped, period_of,
                          public_booking_path, refuse, requires, send_stored_file, tenant_today, tenant_zone)

from . import kpis as dealer_kpis
from . import contracts, sales, services
from .labels import (ADD_ON_LABELS, CATEGORY_LABELS, GRIEVANCE_LABELS, LINE_KIND_LABELS, PAYER_LABELS, PAYMENT_METHOD_LABELS,
                     STATE_COLOURS, STATE_LABELS)
from .models import COMPLAINT_CATEGORIES, OPEN

bp = Blueprint("dealership", __name__, url_prefix="/dealership", template_folder="templates")


@bp.context_processor
def _words():
    return {"state_labels": STATE_LABELS, "state_colours": STATE_COLOURS, "payer_labels": PAYER_LABELS,
            "category_labels": CATEGORY_LABELS, "line_kind_labels": LINE_KIND_LABELS,
            "grievance_labels": GRIEVANCE_LABELS, "method_labels": PAYMENT_METHOD_LABELS,
            "add_on_labels": ADD_ON_LABELS}


def _ro(ro_id):
    ro = services.get_repair_order(current_user, ro_id)
    if ro is None:
        abort(404)
    return ro


def _day_bounds():
    zone, today = tenant_zone(), tenant_today()
    start = datetime.combine(today, time(), tzinfo=zone)
    return start, start + timedelta(days=2)  # today's and tomorrow's (an early arrival is received too)


def _photos(field: str) -> list[int]:
    ids = []
    for upload in request.files.getlist(field)[:8]:
        if upload and upload.filename:
            ids.append(accept_upload(current_user, upload.filename, upload.read(), images_only=True, field=field).id)
    return ids


@bp.get("/")
@requires("dealership.view")
def index():
    state = request.args.get("state") or "open"
    if state not in (*STATE_LABELS, "open"):
        state = "open"
    orders = services.list_repair_orders(current_user, state=state)
    start, end = _day_bounds()
    appointments = services.todays_appointments(current_user, start, end)
    customers = {c.id: c for c in db.session.scalars(
        db.select(Customer).where(Customer.id.in_({o.customer_id for o in orders}
                                                  | {a.customer_id for a in appointments} or {0})))}
    stores = {s.id: s for s in db.session.scalars(db.select(Store))}
    marks = services.vehicle_marks([o.asset_id for o in orders])
    return render_template("dealership/index.html", orders=orders, appointments=appointments, customers=customers,
                           marks=marks, state=state, states=STATE_LABELS, stores=stores,
                           kinds={k.service_type_id: k for k in services.service_kinds()},
                           booking_links={s.id: public_booking_path(s.id) for s in stores.values() if s.active})


@bp.route("/new", methods=["GET", "POST"])
@requires("dealership.reception")
def new():
    appointment = None
    if request.values.get("appointment_id"):
        appointment = get_scoped(Appointment, request.values.get("appointment_id", type=int))
        if appointment is None:
            abort(404)
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        try:
            data = {**values, "photos": _photos("photos")}
            if appointment is not None:
                data["appointment_id"] = appointment.id
            ro = services.receive(current_user, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Car received: %(number)s", number=ro.number), "success")
            return redirect(url_for("dealership.show", ro_id=ro.id))
    customer = get_scoped(Customer, appointment.customer_id) if appointment else None
    vehicle = get_asset(current_user, appointment.asset_id) if appointment and appointment.asset_id else None
    if appointment is not None and "service_kind" not in values:
        kind = next((k for k in services.service_kinds() if k.service_type_id == appointment.service_type_id), None)
        values["service_kind"] = kind.code if kind else ""
    stores = [s for s in db.session.scalars(db.select(Store).where(Store.active.is_(True)).order_by(Store.id))
              if current_user.sees_all_stores or s.id in current_user.store_ids]
    return render_template("dealership/new.html", appointment=appointment, customer=customer, vehicle=vehicle,
                           campaigns=services.campaigns_for_vehicle(vehicle.id) if vehicle else [],
                           values=values, errors=errors, kinds=services.service_kinds(), stores=stores,
                           categories=[(c, CATEGORY_LABELS[c]) for c in COMPLAINT_CATEGORIES]), \
        (422 if errors else 200)


def _show(ro, errors=None, status=200, section=None):
    customer = get_scoped(Customer, ro.customer_id)
    vehicle = get_scoped(services.Asset, ro.asset_id)
    recommendations = services.recommend(ro) if ro.state in ("reception", "dispatched") and \
        current_user.has_permission("dealership.reception") else []
    people = services.names_of([ro.advisor_id, ro.technician_id,
                                *[c.inspector_id for c in services.qc_checks_of(ro)]])
    return render_template("dealership/show.html", ro=ro, customer=customer, vehicle=vehicle,
                           marks=services.vehicle_marks([ro.asset_id]).get(ro.asset_id, {}),
                           lines=services.lines_of(ro), checks=services.qc_checks_of(ro),
                           complaints=services.complaints_of(ro), checklist=services.checklist_of(ro),
                           recommendations=recommendations[:5], fit_of=services.fit_of,
                           fit_floor=services.LACKS_SKILL_BELOW, people=people, errors=errors or {},
                           values=request.form, section=section, kind=services.service_kind(ro.service_kind),
                           store=get_scoped(Store, ro.store_id), repeats=services.repeat_repairs(ro),
                           add_ons=services.add_ons_of(ro), campaigns=services.campaigns_for_vehicle(ro.asset_id),
                           progress_url=url_for("dealership.progress", token=services.progress_token(ro),
                                                _external=True)), status


@bp.get("/<int:ro_id>")
@requires("dealership.view")
def show(ro_id):
    return _show(_ro(ro_id))


def _act(ro_id, fn, message, section):
    ro = _ro(ro_id)
    try:
        with db.session.begin_nested():  # a refused step leaves the order as it was for the page shown
            fn(ro)
    except ValidationError as err:
        refuse()
        return _show(_ro(ro_id), flatten_errors(err.messages), 422, section)
    flash(message, "success")
    if request.form.get("back") == "my_jobs":  # the technician's queue on the phone stays where it was
        return redirect(url_for("dealership.my_jobs"))
    return redirect(url_for("dealership.show", ro_id=ro.id))


@bp.post("/<int:ro_id>/lines")
@requires("dealership.reception")
def add_line(ro_id):
    return _act(ro_id, lambda ro: services.add_line(current_user, ro, request.form.to_dict()),
                _("Item added."), "lines")


@bp.post("/<int:ro_id>/lines/<int:line_id>/delete")
@requires("dealership.reception")
def remove_line(ro_id, line_id):
    ro = _ro(ro_id)
    if line_id not in {ln.id for ln in services.lines_of(ro)}:
        abort(404)
    return _act(ro_id, lambda ro: services.remove_line(current_user, ro, line_id), _("Item removed."), "lines")


@bp.post("/<int:ro_id>/dispatch")
@requires("dealership.reception")
def dispatch(ro_id):
    return _act(ro_id, lambda ro: services.dispatch(current_user, ro, request.form.get("technician_id")),
                _("Job dispatched."), "dispatch")


@bp.post("/<int:ro_id>/start")
@requires("dealership.work")
def start(ro_id):
    return _act(ro_id, lambda ro: services.start_work(current_user, ro), _("Work started."), "work")


@bp.post("/<int:ro_id>/finish")
@requires("dealership.work")
def finish(ro_id):
    return _act(ro_id, lambda ro: services.finish_work(current_user, ro), _("Sent to QC."), "work")


@bp.post("/<int:ro_id>/qc")
@requires("dealership.qc")
def quality_check(ro_id):
    def run(ro):
        results = {item["code"]: request.form.get(f"check.{item['code']}") for item in services.checklist_of(ro)}
        results = {code: value == "pass" for code, value in results.items() if value in ("pass", "fail")}
        check = services.quality_check(current_user, ro, results, reason=request.form.get("reason"),
                                       photos=_photos("qc_photos"))
        flash(_("QC passed: ready for delivery.") if check.passed else _("Sent back to the technician."),
              "success" if check.passed else "warning")
    ro = _ro(ro_id)
    try:
        with db.session.begin_nested():
            run(ro)
    except ValidationError as err:
        refuse()
        return _show(_ro(ro_id), flatten_errors(err.messages), 422, "qc")
    return redirect(url_for("dealership.show", ro_id=ro.id))


@bp.post("/<int:ro_id>/deliver")
@requires("dealership.reception")
def deliver(ro_id):
    return _act(ro_id, lambda ro: services.deliver(current_user, ro, method=request.form.get("method")),
                _("Delivered and paid."), "deliver")


@bp.post("/<int:ro_id>/cancel")
@requires("dealership.reception")
def cancel(ro_id):
    return _act(ro_id, lambda ro: services.cancel(current_user, ro, request.form.get("reason")),
                _("Repair order cancelled."), "cancel")


@bp.post("/<int:ro_id>/complaints")
@requires("dealership.reception")
def complaint(ro_id):
    return _act(ro_id, lambda ro: services.record_complaint(current_user, ro, request.form.to_dict()),
                _("Complaint recorded; a follow-up task was created."), "complaints")


@bp.get("/progress/<token>")
def progress(token):
    """The customer's live progress page (no login: the signed link is the key; zh_CN by default)."""
    ro = services.order_from_progress_token(token)
    if ro is None:
        abort(404)
    photos = {f: services.photo_signature(ro, f) for f in services.progress_photo_ids(ro)}
    return render_template("dealership/progress.html", ro=ro, store=get_scoped(Store, ro.store_id), photos=photos,
                           add_ons=services.add_ons_of(ro), campaigns=services.campaigns_for_vehicle(ro.asset_id), token=token,
                           kind=services.service_kind(ro.service_kind),
                           steps=[s for s in STATE_LABELS if s != "cancelled"])


@bp.get("/progress/<token>/photos/<signature>")
def progress_photo(token, signature):
    """A photo on the customer's progress page: the order's link and a short-lived signature for that one photo."""
    ro = services.order_from_progress_token(token)
    file_id = services.photo_from_signature(ro, signature) if ro is not None else None
    if file_id is None:
        abort(404)
    return send_stored_file(get_file(file_id), thumbnail=request.args.get("size") == "thumb")


@bp.post("/<int:ro_id>/add-ons")
@requires("dealership.reception")
def propose_add_on(ro_id):
    def run(ro):
        link = url_for("dealership.progress", token=services.progress_token(ro), _external=True)
        services.propose_add_on(current_user, ro, {**request.form.to_dict(), "photos": _photos("add_on_photos")},
                                link=link)
    return _act(ro_id, run, _("Add-on sent to the customer for approval."), "add_ons")


@bp.post("/progress/<token>/add-ons/<int:add_on_id>")
def answer_add_on(token, add_on_id):
    """The customer approves or declines add-on work on the progress link."""
    ro = services.order_from_progress_token(token)
    if ro is None or add_on_id not in {a.id for a in services.add_ons_of(ro)}:
        abort(404)
    try:
        with db.session.begin_nested():
            services.decide_add_on(ro, add_on_id, request.form.get("answer") == "approve")
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("Thank you, we have your answer."), "success")
    return redirect(url_for("dealership.progress", token=token))


@bp.route("/campaigns", methods=["GET", "POST"])
@requires("dealership.view")
def campaigns():
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        if not current_user.has_permission("dealership.reception"):
            abort(403)
        try:
            campaign, added = services.import_campaign(current_user, values)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("%(count)s VINs added to %(code)s.", count=added, code=campaign.code), "success")
            return redirect(url_for("dealership.campaigns"))
    return render_template("dealership/campaigns.html", campaigns=services.campaigns(), values=values,
                           errors=errors), (422 if errors else 200)


@bp.get("/my-jobs")
@requires("dealership.work")
def my_jobs():
    jobs = services.my_jobs(current_user)
    customers = {c.id: c for c in db.session.scalars(
        db.select(Customer).where(Customer.id.in_({j.customer_id for j in jobs} or {0})))}
    return render_template("dealership/my_jobs.html", jobs=jobs, customers=customers,
                           marks=services.vehicle_marks([j.asset_id for j in jobs]))


@bp.get("/kpis")
@requires("dealership.view")
def kpi_page():
    from storecrm.sdk import kpi_result

    period = period_of("month")
    codes = [k.code for k in dealer_kpis.kpis()]
    results = [(code, kpi_result(current_user, code, period)) for code in codes]
    from storecrm.sdk import KpiScope

    start, end = period.bounds()
    scope = KpiScope(current_user, period, start, end)
    return render_template("dealership/kpis.html", results=[(c, r) for c, r in results if r is not None],
                           by_category=dealer_kpis.complaint_rate_by_category(scope), period=period, open_states=OPEN)


# --- sales: car-model interest and test drives on the core's leads ---------------------------------------------------

def _lead(lead_id):
    lead = get_lead(current_user, lead_id)
    if lead is None:
        abort(404)
    return lead


def _starts_at(raw: str | None):
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=tenant_zone()) if raw else None
    except ValueError:
        return None


def _drives_page(values, errors, status=200):
    advisors = [(u.id, u.display_name) for u in db.session.scalars(
        db.select(User).where(User.active.is_(True)).order_by(User.display_name))]
    models = list(db.session.scalars(db.select(CatalogItem.name).where(CatalogItem.kind == "product")
                                     .order_by(CatalogItem.name).limit(100)))
    leads = sales.open_leads(current_user)
    return render_template("dealership/test_drives.html", values=values, errors=errors, drives=sales.test_drives_on(
        current_user, days=7), cars=[(c.id, c.name) for c in sales.demo_cars(current_user)], advisors=advisors,
        leads=[(lead.id, f"{lead.name}{' · ' + lead.interest if lead.interest else ''}") for lead in leads],
        models=models, drive_states=sales.DRIVE_STATE_LABELS), status


@bp.route("/test-drives", methods=["GET", "POST"])
@requires("dealership.view")
def test_drives():
    values = request.values.to_dict()
    values.setdefault("advisor_id", str(current_user.id))
    if request.method == "GET":
        return _drives_page(values, {})
    lead = None
    if request.form.get("lead_id", type=int):
        lead = get_lead(current_user, request.form.get("lead_id", type=int))
    try:
        if lead is None:
            raise ValidationError({"lead_id": [_("Choose one of the listed leads.")]})
        sales.book_test_drive(current_user, lead, {
            "resource_id": request.form.get("resource_id", type=int), "advisor_id": request.form.get("advisor_id", type=int),
            "starts_at": _starts_at(request.form.get("starts_at")), "model": request.form.get("model")})
    except ValidationError as err:
        refuse()
        return _drives_page(values, flatten_errors(err.messages), 422)
    flash(_("Test drive booked."), "success")
    return redirect(url_for("dealership.test_drives"))


@bp.post("/leads/<int:lead_id>/model")
@requires("dealership.view")
def lead_model(lead_id):
    lead = _lead(lead_id)
    try:
        sales.set_model(current_user, lead, request.form.get("model") or "")
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("leads.show", lead_id=lead.id))
    flash(_("Car model saved."), "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/test-drives/<int:drive_id>/<any(complete, cancel):outcome>")
@requires("dealership.view")
def close_test_drive(drive_id, outcome):
    drive = sales.get_test_drive(current_user, drive_id)
    if drive is None:
        abort(404)
    try:
        with db.session.begin_nested():
            sales.close_test_drive(current_user, drive, "completed" if outcome == "complete" else "cancelled",
                                   request.form.get("note"))
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("Test drive updated."), "success")
    return redirect(url_for("dealership.test_drives"))


# --- vehicle sales contracts (购车合同) -----------------------------------------------------------------------------

def _contract(contract_id):
    contract = contracts.get_contract(current_user, contract_id)
    if contract is None:
        abort(404)
    return contract


@bp.get("/contracts")
@requires("dealership.view")
def contracts_index():
    rows = contracts.list_contracts(current_user, state=request.args.get("state") or None, limit=100)
    return render_template("dealership/contracts.html", rows=rows, states=contracts.STATE_LABELS)


def _contract_form(values, errors, status=200):
    lead = get_lead(current_user, request.values.get("lead_id", type=int)) if request.values.get("lead_id") else None
    stores = [(s.id, s.name) for s in db.session.scalars(db.select(Store).where(Store.active.is_(True)))
              if current_user.sees_all_stores or s.id in current_user.store_ids]
    return render_template("dealership/contract_new.html", values=values, errors=errors, lead=lead,
                           stores=stores), status


@bp.route("/contracts/new", methods=["GET", "POST"])
@requires("dealership.view")
def new_contract():
    values = request.values.to_dict()
    if request.method == "GET":
        lead = get_lead(current_user, request.args.get("lead_id", type=int)) if request.args.get("lead_id") else None
        if lead is not None:
            values.setdefault("model", lead.interest or "")
        return _contract_form(values, {})
    try:
        with db.session.begin_nested():
            contract = contracts.create_contract(current_user, {
                k: (request.form.get(k) or None) for k in ("lead_id", "customer_id", "store_id", "model", "trim",
                                                           "colour", "vin", "price", "discount", "deposit",
                                                           "delivery_on", "terms")} | {
                "discount": request.form.get("discount") or "0"})
    except ValidationError as err:
        refuse()
        return _contract_form(values, flatten_errors(err.messages), 422)
    flash(_("Contract drafted: send it to the customer to sign."), "success")
    return redirect(url_for("dealership.contract", contract_id=contract.id))


def _contract_page(contract, errors=None, status=200):
    quote = contracts.quote_of(contract)
    order = get_sales_order(contract.order_id) if contract.order_id else None
    share_url = url_for("sales_public.share", token=quote.share_token, _external=True) \
        if quote is not None and quote.share_token and quote.state != "draft" else None
    customer = get_scoped(Customer, contract.customer_id)
    return render_template("dealership/contract.html", contract=contract, quote=quote, order=order,
                           signature=quote.signature if quote is not None and quote.state == "accepted" else None,
                           totals=document_totals(order) if order else None, share_url=share_url, customer=customer,
                           lead=contracts.lead_of(contract), store=get_scoped(Store, contract.store_id),
                           advisor=contracts.advisors_names([contract.advisor_id]).get(contract.advisor_id),
                           states=contracts.STATE_LABELS, methods=[(m, PAYMENT_METHOD_LABELS.get(m, m))
                                                                   for m in contracts.METHODS],
                           errors=errors or {}, values=request.form), status


@bp.get("/contracts/<int:contract_id>")
@requires("dealership.view")
def contract(contract_id):
    return _contract_page(_contract(contract_id))


@bp.get("/contracts/<int:contract_id>/print")
@requires("dealership.view")
def print_contract(contract_id):
    contract = _contract(contract_id)
    quote = contracts.quote_of(contract)
    return render_template("dealership/contract_print.html", contract=contract,
                           signature=quote.signature if quote is not None and quote.state == "accepted" else None,
                           customer=get_scoped(Customer, contract.customer_id),
                           store=get_scoped(Store, contract.store_id), states=contracts.STATE_LABELS,
                           advisor=contracts.advisors_names([contract.advisor_id]).get(contract.advisor_id))


@bp.post("/contracts/<int:contract_id>/<any(send, deposit, deliver, cancel):action>")
@requires("dealership.view")
def contract_action(contract_id, action):
    contract = _contract(contract_id)
    form = request.form
    try:
        with db.session.begin_nested():
            if action == "send":
                contracts.send_for_signature(current_user, contract)
            elif action == "deposit":
                contracts.record_deposit(current_user, contract, form.get("method"), reference=form.get("reference"))
            elif action == "deliver":
                contracts.deliver(current_user, contract, vin=form.get("vin"), method=form.get("method"))
            else:
                contracts.cancel(current_user, contract, form.get("reason"), method=form.get("method"))
    except ValidationError as err:
        refuse()
        return _contract_page(_contract(contract_id), flatten_errors(err.messages), 422)
    flash({"send": _("The signing link is open: send it to the customer."), "deposit": _("Deposit recorded."),
           "deliver": _("Car delivered."), "cancel": _("Contract cancelled.")}[action], "success")
    return redirect(url_for("dealership.contract", contract_id=contract.id))
