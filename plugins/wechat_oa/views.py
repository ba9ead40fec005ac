"""Pages: the admin page (credentials status, test message, recent deliveries) and the public endpoints WeChat
calls (web sign-in return, server callback). Thin: parse, call a service, render."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marshmallow import ValidationError

from storecrm.sdk import (Customer, flatten_errors, get_scoped, limiter, message_templates, outbox_messages,
                          plugin_settings, refuse, requires, safe_next)

from . import binding, callback, mappings, oauth
from .client import WechatError, access_token, js_config, openid_for_code, send_subscribe, send_template
from .template_map import parse_template_map

bp = Blueprint("wechat_oa", __name__, url_prefix="/wechat", template_folder="templates")
public = Blueprint("wechat_oa_public", __name__, url_prefix="/wechat", template_folder="templates",
                   static_folder="static")
JSSDK = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"


@public.record_once
def _no_csrf(state):
    # WeChat's servers post XML with no session and no form: the signature check is what protects the callback
    state.app.extensions["csrf"].exempt(public)


MODE_LABELS = {"template": _l("Template message"), "subscribe": _l("Subscribe message (one-time)"),
               "subscribe_long": _l("Subscribe message (long-term)")}
STATUS = {"pending": _l("Waiting to send"), "sent": _l("Sent"), "dead": _l("Failed"), "skipped": _l("Skipped")}


@bp.route("/", methods=["GET", "POST"])
@requires("wechat_oa.manage")
def admin():
    settings = plugin_settings("wechat_oa")
    mapping = parse_template_map(settings.get("template_map") or "")
    values, errors = request.form, {}
    if request.method == "POST":
        openid = request.form.get("openid", "").strip()
        code = request.form.get("template", "").strip()
        if code not in mapping:
            errors["template"] = [_("Choose a mapped message template.")]
        try:
            binding.normalize_openid(openid)
        except Exception as err:  # marshmallow's ValidationError: shown beside the field
            errors["openid"] = [str(getattr(err, "messages", [err])[0])]
        if not errors:
            template_id, fields, mode = mapping[code]
            try:
                # a subscribe message is tried as is: WeChat itself answers 43101 when the user has not agreed
                send = send_template if mode == "template" else send_subscribe
                msgid = send(openid, template_id, {f: _("Test") for f in fields})
            except WechatError as err:
                errors["send"] = [err.message]
            else:
                flash(_("Test message sent (msgid %(id)s).", id=msgid), "success")
                return redirect(url_for("wechat_oa.admin"))
    return _page(settings, mapping, values, errors)


def _page(settings, mapping, values, errors):
    configured = bool(settings.get("app_id") and settings.get("app_secret"))
    return render_template("wechat_oa/admin.html", settings=settings, mapping=mapping, configured=configured,
                           callback_url=url_for("wechat_oa_public.server", _external=True),
                           notices_url=url_for("wechat_oa_public.notices", _external=True),
                           messages=outbox_messages("wechat", limit=30), values=values, errors=errors,
                           status=STATUS, mode_labels=MODE_LABELS,
                           template_codes=[t.code for t in message_templates()]), (422 if errors else 200)


@bp.post("/mappings")
@requires("wechat_oa.manage")
def save_mapping():
    """Add or change how one message template goes out on WeChat (template or subscribe message)."""
    try:
        code, mapping = mappings.from_form(request.form)
        mappings.save(code, mapping)
    except ValidationError as err:
        refuse()
        settings = plugin_settings("wechat_oa")
        errors = {f"map_{k}": v for k, v in flatten_errors(err.messages).items()}
        return _page(settings, parse_template_map(settings.get("template_map") or ""), request.form, errors)
    flash(_("Mapping of %(code)s saved.", code=code), "success")
    return redirect(url_for("wechat_oa.admin"))


@bp.post("/mappings/<code>/delete")
@requires("wechat_oa.manage")
def delete_mapping(code):
    if code not in mappings.all_mappings():
        abort(404)
    mappings.remove(code)
    flash(_("Mapping of %(code)s removed.", code=code), "success")
    return redirect(url_for("wechat_oa.admin"))


@bp.post("/check")
@requires("wechat_oa.manage")
def check():
    """Fetch a fresh access token: the quickest proof that AppID, AppSecret and the IP whitelist are right."""
    try:
        access_token(force=True)
    except WechatError as err:
        flash(err.message, "danger")
    else:
        flash(_("The credentials work: WeChat issued an access token."), "success")
    return redirect(url_for("wechat_oa.admin"))


@public.get("/notices")
@limiter.limit("30 per minute")
def notices():
    """The subscribe page (订阅通知) for the account's menu: inside WeChat, the `wx-open-subscribe` button for the
    tenant's subscribe-message templates; the user's answer arrives by the server callback. Shows no customer data."""
    mapping = parse_template_map(plugin_settings("wechat_oa").get("template_map") or "")
    labels = {t.code: t.label for t in message_templates()}
    chosen = {code: m for code, m in mapping.items() if m.mode != "template"}
    template_ids = list(dict.fromkeys(m.template_id for m in chosen.values()))[:5]   # WeChat shows at most 5
    config, error = None, None
    if oauth.in_wechat() and template_ids:
        try:
            config = js_config(request.url)
        except WechatError as err:
            error = err.message
    response = make_response(render_template(
        "wechat_oa/notices.html", in_wechat=oauth.in_wechat(), templates=[(c, labels.get(c, c)) for c in chosen],
        template_ids=template_ids, config=config, error=error, jssdk=JSSDK))
    # WeChat's JS-SDK must load from WeChat (it is what renders the open tag): this page alone allows that script
    response.headers["Content-Security-Policy"] = CSP_WITH_JSSDK
    return response


CSP_WITH_JSSDK = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                  "script-src 'self' https://res.wx.qq.com; font-src 'self'; connect-src 'self'; form-action 'self'; "
                  "frame-ancestors 'none'; base-uri 'self'; object-src 'none'")


@public.get("/oauth")
def oauth_return():
    customer_id = oauth.read_state(request.args.get("state", ""))
    customer = get_scoped(Customer, customer_id) if customer_id else None
    code = request.args.get("code", "")
    if customer is None or not code:
        return render_template("wechat_oa/oauth_failed.html"), 400
    try:
        openid = openid_for_code(code)
    except WechatError as err:
        return render_template("wechat_oa/oauth_failed.html", reason=err.message), 400
    binding.bind(customer, openid)
    oauth.remember(customer.id)
    return redirect(safe_next(session.pop(oauth.NEXT, None), "/"))


@public.route("/callback", methods=["GET", "POST"])
def server():
    if not callback.verified(request.args):
        abort(403)
    if request.method == "GET":
        return request.args.get("echostr", ""), 200, {"Content-Type": "text/plain"}
    secure = callback.encrypted(request.args)
    try:
        xml = callback.decrypt(request.get_data(), request.args) if secure else request.get_data()
        reply = callback.handle(xml)
    except callback.Refused:
        abort(403)
    except Exception:  # noqa: BLE001 — not XML WeChat sends: acknowledged, nothing kept
        abort(400)
    if reply is None:
        return "success", 200, {"Content-Type": "text/plain"}
    if secure:
        reply = callback.encrypt_reply(reply, request.args)
    return reply, 200, {"Content-Type": "application/xml; charset=utf-8"}
