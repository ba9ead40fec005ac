"""Staff pages: work orders and dispatch, the engineer's phone view, properties and devices, contracts, knowledge
base. Thin: parse, call a service, render."""
from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request, send_from_directory,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (CatalogItem, allow_browser_features, Customer, StockLocation, db, flash_errors, flatten_errors, get_asset,
                          get_customer, get_file, get_scoped, load_form, refuse, requires, search_customers,
                          stock_available, tenant_today, utcnow)

from . import offline, services
from .models import (ARTICLE_KINDS, COVERAGES, FAULT_TYPES, FREQUENCIES, ORDER_KINDS, PROPERTY_KINDS, RETURN_STATES, SOURCES,
                     STATES, TRANSFER_REASONS, TRANSFER_STATES, Article, Contract, ContractVisit, PartReturn, Property,
                     TransferRequest)

bp = Blueprint("smart_home", __name__, url_prefix="/smart-home", template_folder="templates", static_folder="static")


@bp.context_processor
def _labels():
    return {"state_labels": STATES, "kind_labels": ORDER_KINDS, "fault_labels": FAULT_TYPES,
            "property_kinds": PROPERTY_KINDS, "article_kinds": ARTICLE_KINDS, "source_labels": SOURCES,
            "frequency_labels": {k: v[0] for k, v in FREQUENCIES.items()}, "return_states": RETURN_STATES,
            "coverage_labels": COVERAGES}


def _order_or_404(order_id):
    order = services.get_work_order(current_user, order_id)
    if order is None:
        abort(404)
    return order


# --- work orders ---------------------------------------------------------------------------------------------------

@bp.get("/")
@requires("smart_home.view")
def index():
    state = request.args.get("state") if request.args.get("state") in STATES else None
    q = (request.args.get("q") or "").strip()[:50]
    found = search_customers(current_user, q, limit=10) if q else []
    return render_template("smart_home/index.html", orders=services.list_work_orders(current_user, state=state),
                           state=state, q=q, found=found, today=tenant_today(), now=utcnow())


@bp.route("/orders/new", methods=["GET", "POST"])
@requires("smart_home.manage")
def new_order():
    customer = get_customer(current_user, request.values.get("customer_id", type=int))
    if customer is None:
        abort(404)
    errors, values = {}, request.form if request.method == "POST" else request.args
    if request.method == "POST":
        data, errors = load_form(services.WorkOrderSchema())
        if data is not None:
            try:
                order = services.create_work_order(current_user, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Work order %(number)s created.", number=order.number), "success")
                return redirect(url_for("smart_home.order", order_id=order.id))
    return render_template("smart_home/order_form.html", customer=customer, values=values, errors=errors,
                           properties=services.properties_of(customer.id),
                           devices=services.devices_of(customer.id)), (422 if errors else 200)


@bp.get("/orders/<int:order_id>")
@requires("smart_home.view")
def order(order_id):
    order = _order_or_404(order_id)
    ranked = services.rank_for(order) if order.state in ("pending", "assigned") else []
    return render_template("smart_home/order.html", order=order, **_order_context(order), ranked=ranked)


def _order_context(order):
    customer = get_scoped(Customer, order.customer_id)
    prop = get_scoped(Property, order.property_id) if order.property_id else None
    device = get_scoped_asset(order.asset_id)
    engineer = get_scoped_user(order.engineer_id)
    model = get_scoped(CatalogItem, order.model_item_id) if order.model_item_id else None
    photos = [f for f in (get_file(i) for i in order.photo_ids or []) if f is not None]
    return {"customer": customer, "prop": prop, "device": device, "engineer": engineer, "model": model,
            "history": services.history_of(order.id), "parts": services.parts_of(order.id),
            "articles": services.suggested_articles(order), "photos": photos,
            "coverage": services.coverage_of(order), "worksheet": services.worksheet_for(order.kind),
            "sla": services.sla_state(order)}


def get_scoped_asset(asset_id):
    from storecrm.sdk import Asset
    return get_scoped(Asset, asset_id) if asset_id else None


def get_scoped_user(user_id):
    from storecrm.sdk import User
    return get_scoped(User, user_id) if user_id else None


@bp.post("/orders/<int:order_id>/assign")
@requires("smart_home.dispatch")
def assign(order_id):
    order = _order_or_404(order_id)
    try:
        services.assign(current_user, order, request.form.get("engineer_id", type=int))
    except ValidationError as err:
        flash_errors(err)
    else:
        flash(_("Work order assigned."), "success")
    return redirect(url_for("smart_home.order", order_id=order.id))


@bp.post("/orders/<int:order_id>/visited")
@requires("smart_home.manage")
def visited(order_id):
    order = _order_or_404(order_id)
    try:
        services.mark_visited(current_user, order, (request.form.get("note") or "")[:300])
    except ValidationError as err:
        flash_errors(err)
    return redirect(url_for("smart_home.order", order_id=order.id))


@bp.post("/orders/<int:order_id>/cancel")
@requires("smart_home.manage")
def cancel(order_id):
    order = _order_or_404(order_id)
    try:
        services.cancel(current_user, order, (request.form.get("note") or "")[:300])
    except ValidationError as err:
        flash_errors(err)
    return redirect(url_for("smart_home.order", order_id=order.id))


# --- the engineer's phone view ------------------------------------------------------------------------------------

@bp.get("/engineer/")
@requires("smart_home.work")
def engineer_jobs():
    rows = [r for r in services.list_work_orders(current_user, engineer_id=current_user.id)
            if r[0].state not in ("visited", "cancelled")]
    van = services.van_of(current_user.id)
    return render_template("smart_home/engineer_jobs.html", rows=rows, van=van,
                           van_stock=_van_stock(van), team_rows=services.team_jobs(current_user.id))


@bp.post("/engineer/<int:order_id>/take")
@requires("smart_home.work")
def take_job(order_id):
    order = services.get_work_order(current_user, order_id)
    if order is None:
        abort(404)
    try:
        services.take_from_team(current_user, order)
    except ValidationError as err:
        refuse()
        flash_errors(err)
        return redirect(url_for("smart_home.engineer_jobs"))
    flash(_("The job is yours."), "success")
    return redirect(url_for("smart_home.engineer_job", order_id=order.id))


@bp.post("/orders/<int:order_id>/team")
@requires("smart_home.dispatch")
def send_to_team(order_id):
    order = _order_or_404(order_id)
    try:
        services.send_to_team(current_user, order, request.form.get("team_region", ""))
    except ValidationError as err:
        refuse()
        flash_errors(err)
    else:
        flash(_("Sent to the team."), "success")
    back = request.form.get("back")
    return redirect(back if back and back.startswith("/") and not back.startswith("//")
                    else url_for("smart_home.order", order_id=order.id))


def _van_stock(van):
    if van is None:
        return []
    location = get_scoped(StockLocation, van.location_id)
    return [(item, stock_available(item, location)) for item in services.spare_parts()]


@bp.context_processor
def _parts():
    return {"all_parts": services.spare_parts}


@bp.get("/engineer/<int:order_id>")
@requires("smart_home.work")
@allow_browser_features("geolocation")  # the check-in records where the phone is; every other page keeps it off
def engineer_job(order_id, errors=None):
    order = _order_or_404(order_id)
    van = services.van_of(order.engineer_id)
    return render_template("smart_home/engineer_job.html", order=order, **_order_context(order),
                           van_stock=_van_stock(van), errors=errors or {}, values=request.form if errors else {},
                           returns=services.part_returns(work_order_id=order.id),
                           links=services.navigation_links(get_scoped(Property, order.property_id)
                                                           if order.property_id else None)), 422 if errors else 200


def _wants_json():
    return request.accept_mimetypes.best == "application/json"


@bp.post("/engineer/<int:order_id>/<action>")
@requires("smart_home.work")
def engineer_act(order_id, action):
    """One step of the job, from the page's form or from the phone's offline queue (JSON answer): either way it
    carries the idempotency key the phone made, so a step sent twice happens once."""
    order = _order_or_404(order_id)
    if action not in offline.SCHEMAS:
        abort(404)
    key = request.form.get("idempotency_key") or request.headers.get("Idempotency-Key") or None
    try:
        result, replayed = offline.run_once(current_user, order, key, action, lambda: offline.perform(
            current_user, order, action, offline.load(action), request.files,
            now=offline.tapped_at(request.form.get("tapped_at")), key=key))
    except ValidationError as err:
        refuse()
        errors = flatten_errors(err.messages)
        if _wants_json():
            return jsonify({"errors": errors}), 422
        if action in ("sign-quote", "pay"):
            return engineer_quote(order_id, errors=errors)
        return engineer_job(order_id, errors=errors)
    if _wants_json():
        return jsonify({**result, "replayed": replayed})
    if not replayed:
        flash(result["message"], "success")
    page = "smart_home.engineer_quote" if action in ("sign-quote", "pay") else "smart_home.engineer_job"
    return redirect(url_for(page, order_id=order.id))


@bp.get("/engineer/<int:order_id>/quote")
@requires("smart_home.work")
def engineer_quote(order_id, errors=None):
    order = _order_or_404(order_id)
    return render_template("smart_home/engineer_quote.html", order=order, coverage=services.coverage_of(order),
                           customer=get_scoped(Customer, order.customer_id), errors=errors or {},
                           values=request.form if errors else {}, **services.quote_of(order)), 422 if errors else 200


@bp.get("/engineer/sw.js")
@requires("smart_home.work")
def engineer_service_worker():
    """The offline worker, served from the engineer pages' own path so its scope covers them (a worker may only
    control pages under the folder it is served from); the file itself is the plugin's static JS."""
    response = send_from_directory(bp.static_folder, "smart_home_sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/engineer/day")
@requires("smart_home.work")
def engineer_day():
    engineer_id = request.args.get("engineer_id", type=int) if current_user.has_permission(
        "smart_home.dispatch") else None
    engineer = get_scoped_user(engineer_id or current_user.id)
    if engineer is None:
        abort(404)
    return render_template("smart_home/engineer_day.html", engineer=engineer, **services.day_route(engineer.id))


# --- transfer requests to the vans (调拨申请) ---------------------------------------------------------------------

@bp.get("/transfers/")
@requires("smart_home.dispatch")
def transfers():
    state = request.args.get("state") if request.args.get("state") in TRANSFER_STATES else "open"
    warehouses = [loc for loc in db.session.scalars(select(StockLocation).where(StockLocation.kind != "van")
                                                      .order_by(StockLocation.name))]
    return render_template("smart_home/transfers.html", rows=services.transfer_requests(state=state), state=state,
                           transfer_states=TRANSFER_STATES, transfer_reasons=TRANSFER_REASONS, warehouses=warehouses)


@bp.post("/transfers/<int:request_id>/<decision>")
@requires("smart_home.dispatch")
def decide_transfer(request_id, decision):
    transfer_request = get_scoped(TransferRequest, request_id)
    if transfer_request is None or decision not in ("approve", "reject"):
        abort(404)
    try:
        if decision == "approve":
            data, errors = load_form(services.ApproveTransferSchema())
            if data is None:
                raise ValidationError(errors)
            services.approve_transfer_request(current_user, transfer_request, data)
        else:
            services.reject_transfer_request(current_user, transfer_request)
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("Loaded onto the van.") if decision == "approve" else _("Request rejected."), "success")
    return redirect(url_for("smart_home.transfers"))


# --- defective parts returned (旧件回收) --------------------------------------------------------------------------

@bp.get("/returns/")
@requires("smart_home.dispatch")
def part_returns():
    state = request.args.get("state") if request.args.get("state") in RETURN_STATES else None
    warehouses = [loc for loc in db.session.scalars(select(StockLocation).where(StockLocation.kind != "van")
                                                      .order_by(StockLocation.name))]
    return render_template("smart_home/returns.html", rows=services.part_returns(state=state), state=state,
                           return_states=RETURN_STATES, warehouses=warehouses)


@bp.post("/returns/<int:return_id>")
@requires("smart_home.dispatch")
def move_return(return_id):
    part = get_scoped(PartReturn, return_id)
    if part is None:
        abort(404)
    data, errors = load_form(services.ReturnStepSchema())
    if data is not None:
        try:
            services.move_part_return(current_user, part, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        refuse()
        for messages in errors.values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("Return updated."), "success")
    return redirect(url_for("smart_home.part_returns", state=request.args.get("state")))


@bp.route("/worksheets", methods=["GET", "POST"])
@requires("smart_home.dispatch")
def worksheets():
    errors = {}
    if request.method == "POST":
        try:
            for kind in ORDER_KINDS:
                services.save_worksheet(kind, request.form.get(kind, ""))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Worksheets saved."), "success")
            return redirect(url_for("smart_home.worksheets"))
    texts = {kind: "\n".join(("*" if i.get("required") else "") + i["label"] for i in services.worksheet_for(kind))
             for kind in ORDER_KINDS}
    return render_template("smart_home/worksheets.html", texts=texts, errors=errors), (422 if errors else 200)


# --- properties and devices ---------------------------------------------------------------------------------------

def _customer_or_404(customer_id):
    customer = get_customer(current_user, customer_id)
    if customer is None:
        abort(404)
    return customer


@bp.route("/customers/<int:customer_id>/properties/new", methods=["GET", "POST"])
@requires("smart_home.manage")
def new_property(customer_id):
    customer = _customer_or_404(customer_id)
    errors = {}
    if request.method == "POST":
        data, errors = load_form(services.PropertySchema())
        if data is not None:
            services.save_property(current_user, customer, data)
            flash(_("Property saved."), "success")
            return redirect(url_for("customers.show", customer_id=customer.id))
    return render_template("smart_home/property_form.html", customer=customer, values=request.form,
                           errors=errors), (422 if errors else 200)


@bp.route("/customers/<int:customer_id>/devices/new", methods=["GET", "POST"])
@requires("smart_home.manage")
def new_device(customer_id):
    customer = _customer_or_404(customer_id)
    errors = {}
    if request.method == "POST":
        data, errors = load_form(services.DeviceSchema())
        if data is not None:
            try:
                device = services.register_device(current_user, customer, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Device registered."), "success")
                return redirect(url_for("assets.show", asset_id=device.id))
    return render_template("smart_home/device_form.html", customer=customer, values=request.form, errors=errors,
                           properties=services.properties_of(customer.id),
                           models=services.device_models()), (422 if errors else 200)


# --- maintenance contracts ---------------------------------------------------------------------------------------

@bp.get("/contracts/")
@requires("smart_home.contracts")
def contracts():
    return render_template("smart_home/contracts.html", rows=services.contracts_of(),
                           overdue=services.overdue_visits())


@bp.route("/contracts/new", methods=["GET", "POST"])
@requires("smart_home.contracts")
def new_contract():
    customer = _customer_or_404(request.values.get("customer_id", type=int))
    errors = {}
    if request.method == "POST":
        data, errors = load_form(services.ContractSchema())
        if data is not None:
            try:
                contract = services.create_contract(current_user, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Contract %(number)s saved.", number=contract.number), "success")
                return redirect(url_for("smart_home.contract", contract_id=contract.id))
    return render_template("smart_home/contract_form.html", customer=customer, values=request.form, errors=errors,
                           properties=services.properties_of(customer.id),
                           devices=services.devices_of(customer.id)), (422 if errors else 200)


@bp.get("/contracts/<int:contract_id>")
@requires("smart_home.contracts")
def contract(contract_id):
    contract = get_scoped(Contract, contract_id)
    customer = get_customer(current_user, contract.customer_id) if contract else None
    if customer is None:
        abort(404)
    return render_template("smart_home/contract.html", contract=contract, customer=customer,
                           visits=services.visits_of(contract.id), today=tenant_today(),
                           teams=services.team_regions())


@bp.post("/contracts/visits/<int:visit_id>/move")
@requires("smart_home.contracts")
def move_visit(visit_id):
    visit = get_scoped(ContractVisit, visit_id)
    contract = get_scoped(Contract, visit.contract_id) if visit else None
    if contract is None or get_customer(current_user, contract.customer_id) is None:
        abort(404)
    data, errors = load_form(services.MoveVisitSchema())
    if data is not None:
        try:
            services.move_visit(current_user, visit, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        refuse()
        for messages in errors.values():
            for message in messages:
                flash(message, "danger")
    else:
        flash(_("Visit moved."), "success")
    return redirect(url_for("smart_home.contract", contract_id=contract.id))


@bp.post("/contracts/plan")
@requires("smart_home.contracts")
def plan_visits():
    made = services.plan_contract_visits()
    flash(_("%(count)d visits planned.", count=len(made)), "success")
    return redirect(url_for("smart_home.contracts"))


# --- knowledge base ------------------------------------------------------------------------------------------------

@bp.get("/kb/")
@requires("smart_home.view")
def knowledge():
    q = (request.args.get("q") or "").strip()[:100]
    fault = request.args.get("fault_type") if request.args.get("fault_type") in FAULT_TYPES else None
    kind = request.args.get("kind") if request.args.get("kind") in ARTICLE_KINDS else None
    return render_template("smart_home/knowledge.html", q=q, fault=fault, kind=kind,
                           articles=services.search_articles(q, fault_type=fault, kind=kind))


def _article_form(article):
    errors = {}
    if request.method == "POST":
        data, errors = load_form(services.ArticleSchema())
        if data is not None:
            try:
                article = services.save_article(current_user, data, article)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Article saved."), "success")
                return redirect(url_for("smart_home.article", article_id=article.id))
    values = request.form if request.method == "POST" else (
        {"title": article.title, "kind": article.kind, "category": article.category, "body": article.body,
         "fault_types": article.fault_types, "model_item_ids": article.model_item_ids} if article else {})
    return render_template("smart_home/article_form.html", article=article, values=values, errors=errors,
                           models=services.device_models()), (422 if errors else 200)


@bp.route("/kb/new", methods=["GET", "POST"])
@requires("smart_home.knowledge")
def new_article():
    return _article_form(None)


@bp.route("/kb/<int:article_id>/edit", methods=["GET", "POST"])
@requires("smart_home.knowledge")
def edit_article(article_id):
    article = get_scoped(Article, article_id)
    if article is None:
        abort(404)
    return _article_form(article)


@bp.get("/kb/<int:article_id>")
@requires("smart_home.view")
def article(article_id):
    article = get_scoped(Article, article_id)
    if article is None:
        abort(404)
    models = list(db.session.scalars(select(CatalogItem).where(CatalogItem.id.in_(article.model_item_ids or [0]))))
    return render_template("smart_home/article.html", article=article, models=models)
