"""The channel's admin page (credentials, template map, a test text, recent deliveries and failures) and the
receipt addresses the providers push carrier reports to."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from storecrm.sdk import (csrf_exempt, flatten_errors, limiter, message_templates, normalize_phone, refuse,
                          requires)

from . import services
from .errors import describe

bp = Blueprint("sms_cn", __name__, url_prefix="/sms-cn", template_folder="templates")
STATUS_LABELS = {"submitted": _l("Submitted"), "delivered": _l("Delivered"), "failed": _l("Failed")}


def _page(errors=None, values=None, status=200):
    values = values or {}
    settings = services.settings()
    receipts = {p: url_for("sms_cn.receipts", provider=p, token=services.receipt_token(), _external=True)
                for p in ("aliyun", "tencent")}
    templates = message_templates()
    return render_template("sms_cn/index.html", settings=settings, template_labels={t.code: t.label for t in templates}, configured=services.configured(settings),
                           provider_label=services.PROVIDER_LABELS.get(settings.get("provider"), ""),
                           templates=templates, mappings=services.mappings(), receipts=receipts,
                           deliveries=services.recent(), failures=services.failures(), errors=errors or {},
                           values=values, status_labels=STATUS_LABELS, describe=describe), status


@bp.get("/")
@requires("sms_cn.manage")
def index():
    return _page()


@bp.post("/templates")
@requires("sms_cn.manage")
def save_templates():
    rows = {t.code: (request.form.get(f"template-{t.code}", ""), request.form.get(f"names-{t.code}", ""))
            for t in message_templates()}
    try:
        services.save_mappings(current_user, rows)
    except ValidationError as err:
        refuse()
        return _page(flatten_errors(err.messages), {k: v for k, v in request.form.items()}, 422)
    flash(_("Template map saved."), "success")
    return redirect(url_for("sms_cn.index"))


@bp.post("/test")
@requires("sms_cn.manage")
@limiter.limit("10 per minute")
def test_send():
    values = {"phone": request.form.get("phone", ""), "code": request.form.get("code", "")}
    try:
        try:
            phone = normalize_phone(values["phone"]) if values["phone"].strip() else ""
        except ValidationError:
            raise ValidationError({"phone": [_("Enter a valid mobile number.")]})
        services.test_send(current_user, phone, values["code"])
    except ValidationError as err:
        refuse()
        return _page(flatten_errors(err.messages), values, 422)
    flash(_("Test text accepted by the provider; its receipt will show below."), "success")
    return redirect(url_for("sms_cn.index"))


@bp.post("/receipts/<provider>/<token>")
@csrf_exempt
@limiter.limit("120 per minute")
def receipts(provider, token):
    """Carrier receipts pushed by Aliyun (SmsReport, a JSON array) or Tencent (状态回执, a JSON array). The address
    holds the tenant's secret token: a wrong one is not found, and nothing is stored."""
    if provider not in ("aliyun", "tencent") or not services.receipt_token_ok(token):
        abort(404)
    reports = request.get_json(silent=True)
    if isinstance(reports, dict):
        reports = [reports]
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        refuse()
        return jsonify({"code": 1, "msg": "bad body"} if provider == "aliyun" else {"result": 1, "errmsg": "bad body"}), 400
    services.apply_receipts(provider, reports)
    return jsonify({"code": 0, "msg": "成功"} if provider == "aliyun" else {"result": 0, "errmsg": "OK"})
