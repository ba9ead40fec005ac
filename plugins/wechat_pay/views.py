"""Pages: staff (the channel's admin page with a 0.01 test order, a payment with its QR code and refunds, collecting
an order's balance by QR at the till) and the customer's (choose an amount and pay inside WeChat), plus the
notification URL WeChat Pay posts to. Thin: parse, call a service, render."""
from decimal import Decimal, InvalidOperation

import segno
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from flask_login import current_user

from storecrm.sdk import (Customer, get_order, get_quote, get_scoped, identities_of, plugin_settings, quote_deposit_due,
                          refuse, requires, safe_next)

from . import labels, payments, tokens
from .client import PayError, configured

bp = Blueprint("wechat_pay", __name__, url_prefix="/wechat-pay", template_folder="templates")
public = Blueprint("wechat_pay_public", __name__, url_prefix="/wechat-pay", template_folder="templates",
                   static_folder="static")


@public.record_once
def _no_csrf(state):
    # WeChat Pay posts notifications with no session: its signature is what is checked
    state.app.extensions["csrf"].exempt(public)


@bp.context_processor
@public.context_processor
def _labels():
    return {"L": labels, "label": labels.label, "yuan": payments.to_yuan}


def _qr(data: str) -> str:
    return segno.make(data, error="m").svg_inline(scale=5, border=2)


# --- staff -----------------------------------------------------------------------------------------------------------

@bp.get("/")
@requires("wechat_pay.manage")
def admin():
    settings = plugin_settings("wechat_pay")
    return render_template("wechat_pay/admin.html", settings=settings, configured=configured(),
                           notify_url=url_for("wechat_pay_public.notify", _external=True),
                           payments=payments.recent(30))


@bp.post("/test")
@requires("wechat_pay.manage")
def test_order():
    try:
        payment = payments.create(purpose="test", amount_fen=1, description=_("StoreCRM test payment"),
                                  trade_type="native")
    except PayError as err:
        refuse()
        flash(err.message, "danger")
        return redirect(url_for("wechat_pay.admin"))
    return redirect(url_for("wechat_pay.payment", payment_id=payment.id))


@bp.get("/payments/<int:payment_id>")
@requires("wechat_pay.collect")
def payment(payment_id):
    row = payments.get_payment(payment_id) or abort(404)
    qr = _qr(row.code_url) if row.code_url and row.status == "created" else None
    return render_template("wechat_pay/payment.html", payment=row, qr=qr, refunds=payments.refunds_of(row.id))


@bp.get("/payments/<int:payment_id>/status")
@requires("wechat_pay.collect")
def payment_status(payment_id):
    row = payments.get_payment(payment_id) or abort(404)
    return jsonify(status=row.status)


@bp.post("/payments/<int:payment_id>/refund")
@requires("wechat_pay.manage")
def refund(payment_id):
    row = payments.get_payment(payment_id) or abort(404)
    try:
        amount = payments.to_fen(Decimal(request.form.get("amount", "").strip()))
    except (InvalidOperation, ValueError):
        amount = 0
    try:
        payments.refund(row, amount, request.form.get("reason", "").strip(), user=current_user)
    except PayError as err:
        refuse()
        flash(err.message, "danger")
    else:
        flash(_("Refund requested."), "success")
    return redirect(url_for("wechat_pay.payment", payment_id=row.id))


@bp.post("/payments/<int:payment_id>/query")
@requires("wechat_pay.collect")
def query_payment(payment_id):
    row = payments.get_payment(payment_id) or abort(404)
    try:
        payments.query(row)
    except PayError as err:
        refuse()
        flash(err.message, "danger")
    else:
        flash(_("Status: %(s)s", s=labels.label(labels.STATUSES, row.status)), "info")
    return redirect(url_for("wechat_pay.payment", payment_id=row.id))


@bp.post("/payments/<int:payment_id>/close")
@requires("wechat_pay.manage")
def close_payment(payment_id):
    row = payments.get_payment(payment_id) or abort(404)
    try:
        payments.close(row)
    except PayError as err:
        refuse()
        flash(err.message, "danger")
    else:
        flash(_("Status: %(s)s", s=labels.label(labels.STATUSES, row.status)), "info")
    return redirect(url_for("wechat_pay.payment", payment_id=row.id))


def _amount_fen(default: int) -> int:
    try:
        return payments.to_fen(Decimal(request.form["amount"])) if request.form.get("amount") else default
    except (InvalidOperation, ValueError, KeyError):
        return 0


@bp.post("/quotes/<int:quote_id>/collect")
@requires("wechat_pay.collect")
def collect_quote(quote_id):
    """The till: a QR code for a quote's deposit (定金) that the customer scans with WeChat."""
    quote = get_quote(current_user, quote_id) or abort(404)
    try:
        row = payments.create_quote_deposit(quote, _amount_fen(payments.to_fen(quote_deposit_due(quote))),
                                            trade_type="native")
    except PayError as err:
        refuse()
        flash(err.message, "danger")
        return redirect(request.referrer or url_for("wechat_pay.admin"))
    return redirect(url_for("wechat_pay.payment", payment_id=row.id))


@bp.post("/orders/<int:order_id>/collect")
@requires("wechat_pay.collect")
def collect(order_id):
    """The till: a QR code for the order's balance (or a deposit amount) that the customer scans with WeChat."""
    order = get_order(current_user, order_id) or abort(404)
    due = payments.order_balance_fen(order)
    try:
        amount = payments.to_fen(Decimal(request.form["amount"])) if request.form.get("amount") else due
    except (InvalidOperation, ValueError):
        amount = 0
    try:
        if amount > due:
            raise PayError(_("Collect at most the balance due."), "amount")
        row = payments.create(purpose="order", reference_id=order.id, customer_id=order.customer_id,
                              amount_fen=amount, trade_type="native",
                              description=_("Order %(no)s", no=getattr(order, "number", None) or order.id))
    except PayError as err:
        refuse()
        flash(err.message, "danger")
        return redirect(request.referrer or url_for("wechat_pay.admin"))
    return redirect(url_for("wechat_pay.payment", payment_id=row.id))


# --- the customer ------------------------------------------------------------------------------------------------------

def _openid(customer_id):
    return next((i.value for i in identities_of(customer_id) if i.kind == "wechat_openid"), None)


@public.route("/pay/<token>", methods=["GET", "POST"])
def pay(token):
    values = tokens.read(tokens.PAY, token)
    if values is None:
        abort(404)
    purpose, reference_id, customer_id, fixed_fen, back = values
    customer = get_scoped(Customer, customer_id) or abort(404)
    errors = {}
    if request.method == "POST":
        try:
            amount = fixed_fen or payments.to_fen(Decimal(request.form.get("amount", "").strip()))
            if amount < 1 or amount > 5_000_00:
                raise ValueError
        except (InvalidOperation, ValueError):
            errors["amount"] = [_("Enter an amount between 0.01 and 5,000.")]
        if not errors:
            try:
                if purpose == payments.QUOTE_DEPOSIT:
                    quote = get_quote(None, reference_id) or abort(404)
                    row = payments.create_quote_deposit(quote, amount, trade_type="jsapi", openid=_openid(customer.id))
                else:
                    row = payments.create(purpose=purpose, reference_id=reference_id, customer_id=customer.id,
                                          amount_fen=amount, trade_type="jsapi", openid=_openid(customer.id),
                                          description=str(labels.label(labels.PURPOSES, purpose)))
            except PayError as err:
                errors["amount"] = [err.message]
            else:
                return redirect(url_for("wechat_pay_public.paying", token=tokens.make(tokens.PAYING, row.id, back)))
        refuse()
    return render_template("wechat_pay/pay.html", purpose=purpose, fixed=fixed_fen, token=token, back=back,
                           errors=errors, values=request.form, in_wechat=bool(_openid(customer.id))), (422 if errors else 200)


def _paying(token):
    values = tokens.read(tokens.PAYING, token)
    row = payments.get_payment(values[0]) if values else None
    if row is None:
        abort(404)
    return row, values[1]


@public.get("/paying/<token>")
def paying(token):
    row, back = _paying(token)
    params = payments.jsapi_params(row) if row.status == "created" and row.prepay_id else None
    return render_template("wechat_pay/paying.html", payment=row, params=params, token=token,
                           back=safe_next(back, ""))


@public.get("/paying/<token>/status")
def paying_status(token):
    row, _back = _paying(token)
    return jsonify(status=row.status)


@public.post("/notify")
def notify():
    try:
        outcome = payments.receive(request.headers, request.get_data())
    except payments.Refused:
        refuse()
        return jsonify(code="FAIL", message="refused"), 401
    return jsonify(code="SUCCESS", message=outcome), 200
