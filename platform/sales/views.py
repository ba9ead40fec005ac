"""Staff pages for quotes and orders (thin: parse, call storecrm.sales.services, render), and the customer's share
page. The quote editor works on a phone: lines are added with htmx and the totals come back with them."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from ..catalog import services as catalog
from ..customers.models import Customer
from ..customers.services import get_customer
from ..extensions import db, limiter
from ..stock import services as stock
from ..stores.services import stores_visible_to
from ..users.services import list_users
from ..tenancy.models import as_id, get_scoped
from ..web.forms import flatten_errors, form_data, load_form, requires
from ..web.transactions import refuse
from ..web.visitors import public_visitor_response
from . import services
from ..hooks.runtime import tenant_hook
from . import deposits
from .labels import (APPROVAL_LABELS, DEPOSIT_STATE_LABELS, INVOICE_LABELS, KIND_LABELS, METHOD_LABELS,
                     ORDER_STATE_LABELS, QUOTE_STATE_LABELS)
from .models import PAYMENT_METHODS
from .schemas import (AcceptSchema, DepositSchema, DocumentSchema, HeaderSchema, OrderInvoiceSchema, LineSchema,
                      PaymentSchema, RefundSchema)

bp = Blueprint("sales", __name__, url_prefix="/sales")
public_bp = Blueprint("sales_public", __name__, url_prefix="/q")

PAGE = 30


@bp.record_once
def _labels(state):
    # globals, not a context processor: the customer panel is rendered outside a view's context
    state.app.jinja_env.globals.update(
        quote_state_labels=QUOTE_STATE_LABELS, order_state_labels=ORDER_STATE_LABELS,
        payment_method_labels=METHOD_LABELS, invoice_labels=INVOICE_LABELS, approval_state_labels=APPROVAL_LABELS,
        item_kind_labels=KIND_LABELS, deposit_state_labels=DEPOSIT_STATE_LABELS)


def _document(document_id, kind: str | None = None):
    document = services.get_document(current_user, document_id)
    if document is None or (kind and document.kind != kind):
        abort(404)
    return document


def _url(document) -> str:
    endpoint = "sales.quote" if document.kind == "quote" else "sales.order"
    return url_for(endpoint, **{f"{document.kind}_id": document.id})


# --- lists ------------------------------------------------------------------------------------------------------

def _list(kind: str):
    state = request.args.get("state") or None
    labels = QUOTE_STATE_LABELS if kind == "quote" else ORDER_STATE_LABELS
    if state not in labels:
        state = None
    rows = services.list_documents(current_user, kind, state=state, after_id=as_id(request.args.get("after")),
                                   q=request.args.get("q", "")[:30], limit=PAGE)
    names = dict(db.session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_({d.customer_id for d in rows}))).all()) if rows else {}
    return render_template("sales/list.html", kind=kind, rows=rows, names=names, state=state, labels=labels,
                           more=len(rows) == PAGE, q=request.args.get("q", ""))


@bp.get("/quotes")
@requires("sales.view")
def quotes():
    return _list("quote")


@bp.get("/orders")
@requires("sales.view")
def orders():
    return _list("order")


# --- creating -------------------------------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@requires("sales.manage")
def new():
    kind = request.values.get("kind")
    if kind not in ("quote", "order"):
        abort(404)
    customer = get_customer(current_user, request.values.get("customer_id"))
    errors = {}
    if request.method == "POST":
        schema = DocumentSchema(only=("customer_id", "store_id", "asset_id", "valid_until", "notes"))
        data, errors = load_form(schema)
        if data is not None:
            try:
                create = services.create_quote if kind == "quote" else services.create_order
                document = create(current_user, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                return redirect(_url(document))
        refuse()
    assets = []
    if customer is not None:
        from ..assets.services import assets_of  # imported here: only the new-document form lists assets

        assets = assets_of(customer.id)
    return render_template("sales/new.html", kind=kind, customer=customer, assets=assets, errors=errors,
                           stores=stores_visible_to(current_user), values=request.form), 422 if errors else 200


# --- the document page (quote editor / order page) ------------------------------------------------------------

def _page_context(document, errors=None) -> dict:
    lines = services.lines_of(document)
    customer = db.session.get(Customer, (document.tenant_id, document.customer_id))
    ctx = {"doc": document, "lines": lines, "customer": customer, "errors": errors or {},
           "editable": document.state == "draft" and current_user.has_permission("sales.manage"),
           "staff": {u.id: u.display_name for u in list_users(current_user) if u.active}}
    if document.kind == "quote":
        ctx["approval"] = services.approval_state(document)
        ctx["approval_item"] = services.approval_item(document)
        ctx["revisions"] = services.revisions_of(document)
        ctx["order"] = services.order_of_quote(document) if document.state == "accepted" else None
        ctx["share_url"] = url_for("sales_public.share", token=document.share_token, _external=True) \
            if document.share_token and document.state != "draft" else None
        ctx["deposits"] = deposits.deposits_of(document)
        ctx["deposit_paid"] = deposits.deposit_paid(document)
        ctx["deposit_due"] = deposits.deposit_due(document)
        ctx["methods"] = PAYMENT_METHODS
        ctx["request_key"] = secrets.token_urlsafe(16)
        ctx["till_url"] = tenant_hook("till_payment_url")(
            purpose="sales.quote_deposit", reference_id=document.id, amount=ctx["deposit_due"]) \
            if document.state in deposits.OPEN_STATES else None
    else:
        ctx["deposits"] = deposits.deposits_for_order(document)
        ctx["payments"] = services.payments_of(document)
        ctx["methods"] = PAYMENT_METHODS
        ctx["locations"] = stock.locations_visible_to(current_user)
        ctx["serial_lines"] = [line for line in lines if line.serial_tracked]
        ctx["request_key"] = secrets.token_urlsafe(16)
    return ctx


@bp.get("/quotes/<int:quote_id>")
@requires("sales.view")
def quote(quote_id):
    return render_template("sales/document.html", **_page_context(_document(quote_id, "quote")))


@bp.get("/orders/<int:order_id>")
@requires("sales.view")
def order(order_id):
    return render_template("sales/document.html", **_page_context(_document(order_id, "order")))


def _editor_response(document, errors=None):
    """The lines and totals part of the editor (htmx), or the whole page after a plain form post."""
    if errors:
        refuse()
    if request.headers.get("HX-Request"):
        return render_template("sales/_lines.html", **_page_context(document, errors))
    if errors:
        for messages in errors.values():
            for message in messages:
                flash(message, "danger")
    return redirect(_url(document))


@bp.post("/documents/<int:document_id>/lines")
@requires("sales.manage")
def add_line(document_id):
    document = _document(document_id)
    data, errors = load_form(LineSchema())
    if data is not None:
        try:
            services.add_line(current_user, document, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    return _editor_response(document, errors)


@bp.post("/documents/<int:document_id>/lines/<int:line_id>")
@requires("sales.manage")
def update_line(document_id, line_id):
    document = _document(document_id)
    line = services.get_line(document, line_id)
    if line is None:
        abort(404)
    errors = {}
    if request.form.get("remove"):
        try:
            services.remove_line(current_user, document, line)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        return _editor_response(document, errors)
    schema = LineSchema(only=("quantity", "unit_price", "discount_pct", "tax_rate", "optional",
                              "advisor_id", "technician_id", "technician_share_pct"), partial=True)
    raw = {k: v for k, v in form_data(schema).items() if k in request.form or k == "optional"}
    try:
        data = schema.load(raw)
        services.update_line(current_user, document, line, data)
    except ValidationError as err:
        errors = {f"line-{line.id}-{k}": v for k, v in flatten_errors(err.messages).items()}
    return _editor_response(document, errors)


@bp.post("/documents/<int:document_id>/header")
@requires("sales.manage")
def update_header(document_id):
    document = _document(document_id)
    schema = HeaderSchema(partial=True)
    raw = {k: v for k, v in form_data(schema).items() if k in request.form}
    try:
        services.update_header(current_user, document, schema.load(raw))
    except ValidationError as err:
        return _editor_response(document, flatten_errors(err.messages))
    return _editor_response(document)


@bp.get("/items")
@requires("sales.view")
def item_search():
    """Catalog items matching `q` (htmx: the picker under the item search box)."""
    q = request.args.get("q", "").strip()[:60]
    document = services.get_document(current_user, request.args.get("document_id"))
    items = catalog.list_items(q=q, limit=12) if q and document is not None else []
    return render_template("sales/_item_options.html", items=items, document_id=getattr(document, "id", None))


# --- quote actions --------------------------------------------------------------------------------------------

@bp.post("/quotes/<int:quote_id>/action")
@requires("sales.manage")
def quote_action(quote_id):
    quote = _document(quote_id, "quote")
    action = request.form.get("action")
    try:
        if action == "submit":
            services.submit_for_approval(current_user, quote)
            flash(_("Submitted for approval."), "success")
        elif action == "send":
            services.send_quote(current_user, quote)
            flash(_("Quote sent: share the link with the customer."), "success")
        elif action == "revise":
            services.revise_quote(current_user, quote)
            flash(_("Revision %(n)s started; the earlier one is kept.", n=quote.revision), "success")
        elif action == "decline":
            services.decline_quote(quote, request.form.get("reason"), user=current_user)
        elif action == "accept":
            data = AcceptSchema().load({"name": request.form.get("name", "")})
            order = services.accept_quote(quote, data, user=current_user)
            return redirect(url_for("sales.order", order_id=order.id))
        else:
            abort(400)
    except ValidationError as err:
        refuse()
        for messages in flatten_errors(err.messages).values():
            for message in messages:
                flash(message, "danger")
    return redirect(url_for("sales.quote", quote_id=quote.id))


@bp.get("/quotes/<int:quote_id>/revisions/<int:revision>")
@requires("sales.view")
def revision(quote_id, revision):
    quote = _document(quote_id, "quote")
    found = next((r for r in services.revisions_of(quote) if r.revision == revision), None)
    if found is None:
        abort(404)
    return render_template("sales/revision.html", doc=quote, rev=found)


@bp.get("/documents/<int:document_id>/print")
@requires("sales.view")
def print_document(document_id):
    document = _document(document_id)
    customer = db.session.get(Customer, (document.tenant_id, document.customer_id))
    return render_template("sales/print.html", doc=document, lines=services.lines_of(document), customer=customer,
                           public=False)


# --- deposits on quotes -------------------------------------------------------------------------------------------

@bp.post("/quotes/<int:quote_id>/deposits")
@requires("sales.manage")
def add_deposit(quote_id):
    quote = _document(quote_id, "quote")
    data, errors = load_form(DepositSchema())
    key = (request.form.get("request_key") or "")[:80] or None
    if data is not None:
        try:
            deposits.record_deposit(current_user, quote, data, request_key=key)
            flash(_("Deposit recorded."), "success")
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        _flash_errors(ValidationError(errors))
    return redirect(url_for("sales.quote", quote_id=quote.id))


@bp.post("/quotes/<int:quote_id>/deposits/<int:deposit_id>/refund")
@requires("sales.refund")
def refund_deposit(quote_id, deposit_id):
    quote = _document(quote_id, "quote")
    deposit = deposits.get_deposit(quote, deposit_id) or abort(404)
    try:
        deposits.refund_deposit(current_user, quote, deposit, request.form.get("reason"))
        flash(_("Refund requested from WeChat Pay.") if deposit.state == "refunding" else _("Deposit refunded."),
              "success")
    except ValidationError as err:
        _flash_errors(err)
    return redirect(url_for("sales.quote", quote_id=quote.id))


# --- order actions, payments, refunds, invoice ----------------------------------------------------------------

def _flash_errors(err: ValidationError) -> None:
    refuse()
    for field, messages in flatten_errors(err.messages).items():
        for message in messages:
            flash(message, "danger")


@bp.post("/orders/<int:order_id>/action")
@requires("sales.manage")
def order_action(order_id):
    order = _document(order_id, "order")
    action = request.form.get("action")
    location_id = as_id(request.form.get("location_id"))
    try:
        if action == "confirm":
            services.confirm_order(current_user, order, location_id=location_id)
        elif action == "fulfil":
            serials = {key.removeprefix("serials-"): [s.strip() for s in value.replace("，", ",").split(",")
                                                      if s.strip()]
                       for key, value in request.form.items() if key.startswith("serials-")}
            services.fulfil_order(current_user, order, {"location_id": location_id, "serials": serials})
        elif action == "close":
            services.close_order(current_user, order)
        elif action == "cancel":
            services.cancel_order(current_user, order, request.form.get("reason"))
        else:
            abort(400)
    except ValidationError as err:
        _flash_errors(err)
    return redirect(url_for("sales.order", order_id=order.id))


@bp.post("/orders/<int:order_id>/payments")
@requires("sales.manage")
def add_payment(order_id):
    order = _document(order_id, "order")
    data, errors = load_form(PaymentSchema())
    key = (request.form.get("request_key") or "")[:80] or None
    if data is not None:
        try:
            services.record_payment(current_user, order, data, request_key=key)
            flash(_("Payment recorded."), "success")
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        _flash_errors(ValidationError(errors))
    return redirect(url_for("sales.order", order_id=order.id))


@bp.post("/orders/<int:order_id>/refunds")
@requires("sales.refund")
def add_refund(order_id):
    order = _document(order_id, "order")
    data, errors = load_form(RefundSchema(exclude=("returns",)))
    key = (request.form.get("request_key") or "")[:80] or None
    if data is not None:
        try:
            services.record_refund(current_user, order, data, request_key=key)
            flash(_("Refund recorded."), "success")
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        _flash_errors(ValidationError(errors))
    return redirect(url_for("sales.order", order_id=order.id))


@bp.post("/orders/<int:order_id>/invoice")
@requires("sales.refund")
def invoice(order_id):
    order = _document(order_id, "order")
    data, errors = load_form(OrderInvoiceSchema())
    if data is not None:
        try:
            services.set_invoice(current_user, order, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
    if errors:
        _flash_errors(ValidationError(errors))
    return redirect(url_for("sales.order", order_id=order.id))


# --- the customer's share page (no sign-in: the token is the key) -----------------------------------------------

def _share_limit() -> str:
    return "30 per minute"


@public_bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_share_limit)
@limiter.limit("10 per minute", methods=["POST"])
def share(token):
    """The quote as its customer sees it: lines, optional lines to tick, accept with name and signature."""
    quote = services.quote_by_token(token)
    if quote is None:
        abort(404)
    if (response := public_visitor_response(get_scoped(Customer, quote.customer_id))) is not None:
        return response                # inside WeChat: sign in once, the customer's openid is bound
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form
        if request.form.get("decision") == "decline":
            try:
                services.decline_quote(quote, request.form.get("reason"))
            except ValidationError as err:
                errors = flatten_errors(err.messages)
        else:
            payload = {"name": request.form.get("name", ""), "signature": request.form.get("signature") or None,
                       "optional_line_ids": [v for v in request.form.getlist("optional_line_ids") if v]}
            try:
                services.accept_quote(quote, AcceptSchema().load(payload))
            except ValidationError as err:
                errors = flatten_errors(err.messages)
        if errors:
            refuse()
        else:
            return redirect(url_for("sales_public.share", token=token))
    lines = services.lines_of(quote)
    due = deposits.deposit_due(quote) if quote.state == "sent" else 0
    pay_url = tenant_hook("online_payment_url")(
        purpose="sales.quote_deposit", reference_id=quote.id, customer=get_scoped(Customer, quote.customer_id),
        amount=due, return_url=url_for("sales_public.share", token=token)) if due else None
    return render_template("sales/share.html", doc=quote, lines=lines, errors=errors, values=values,
                           tenant=g.get("tenant"), token=token, deposit_paid=deposits.deposit_paid(quote),
                           deposit_due=due, deposit_pay_url=pay_url), 422 if errors else 200
