"""Pages: staff (members, the till's registration, a member's record, coupon templates) and the shopper's own pages
(join by QR code with an SMS code, the member card). Thin: parse, call a service, render."""
import hashlib
import hmac
import secrets
import time as _time
import segno
from limits import parse as parse_limit
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (RFM_SEGMENTS, Customer, Store, bind_public_visitor, current_tenant_id, db, flatten_errors,
                          get_scoped, limiter, online_payment_url, refuse, requires, saved_customer_views,
                          send_template, staff_with_role, tenant_today, utcnow)

from . import campaigns, complaints, coupons, labels, members, offline, points, purchases, remedies, tiers, tokens, wallet
from .models import Complaint

bp = Blueprint("retail", __name__, url_prefix="/retail", template_folder="templates")


@bp.context_processor
def _labels():
    return {"L": labels, "label": labels.label}


def _stores():
    return list(db.session.scalars(select(Store).where(Store.active.is_(True)).order_by(Store.id)))


def _svg(data: str, scale=6) -> str:
    return segno.make(data, error="m").svg_inline(scale=scale, border=2)


# --- staff ---------------------------------------------------------------------------------------------------------

@bp.route("/", methods=["GET", "POST"])
@requires("retail.view")
def index():
    errors, values = {}, request.form if request.method == "POST" else {}
    if request.method == "POST":
        if not current_user.has_permission("retail.till"):
            abort(403)
        try:
            member = members.register(current_user, {
                "name": request.form.get("name", ""), "mobile": request.form.get("mobile", ""),
                "store_id": request.form.get("store_id") or None, "birthday": request.form.get("birthday") or None,
                "consent": request.form.get("consent") in ("1", "on", "y")}, source="till")
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Member registered: %(no)s", no=member.member_no), "success")
            return redirect(url_for("retail.member", member_id=member.id))
    stores = _stores()
    joins = [(s, url_for("retail.join", token=tokens.make(tokens.JOIN, s.id), _external=True)) for s in stores]
    return render_template("retail/index.html", rows=members.recent_members(request.args.get("q", "")),
                           q=request.args.get("q", ""), stores=stores, store_options=[(s.id, s.name) for s in stores], joins=joins, svg=_svg,
                           tiers={t.code: t for t in members.tiers()}, errors=errors, values=values,
                           count=members.count_members()), (422 if errors else 200)


def _member_or_404(member_id):
    member = members.get_member(member_id)
    if member is None:
        abort(404)
    return member


@bp.get("/members/<int:member_id>")
@requires("retail.view")
def member(member_id):
    member = _member_or_404(member_id)
    return _member_page(member, {}, 200)


def _member_page(member, errors, status):
    customer = members.customer_of(member)
    return render_template("retail/member.html", member=member, customer=customer,
                           tier=tiers.tier_named(member.tier_code), ledger=points.ledger_of(member.id),
                           tier_names={t.code: t.name for t in members.tiers()},
                           batches=[b for b in points.batches_of(member.id) if b.remaining],
                           coupons=coupons.coupons_of(member.id), sv=wallet.ledger_of(member.id),
                           purchases=purchases.purchases_of(member.id), history=tiers.history_of(member.id),
                           templates=[t for t in coupons.templates() if t.active], stores=_stores(),
                           card_url=url_for("retail.card", token=tokens.make(tokens.CARD, member.id), _external=True),
                           errors=errors, values=request.form, today=tenant_today()), status


def _act(member_id, fn, done):
    if not current_user.has_permission("retail.till"):
        abort(403)
    member = _member_or_404(member_id)
    try:
        fn(member)
    except ValidationError as err:
        refuse()
        return _member_page(member, flatten_errors(err.messages), 422)
    flash(done, "success")
    return redirect(url_for("retail.member", member_id=member.id))


@bp.post("/members/<int:member_id>/coupons")
@requires("retail.view")
def issue_coupon(member_id):
    return _act(member_id, lambda m: coupons.issue(m, request.form.get("template", ""), issued_by="staff"),
                _("Coupon issued."))


@bp.post("/members/<int:member_id>/redeem")
@requires("retail.view")
def redeem_coupon(member_id):
    return _act(member_id, lambda m: coupons.redeem(m, request.form.get("coupon_code", ""),
                                                   store_id=m.store_id), _("Coupon redeemed."))


@bp.post("/members/<int:member_id>/top-up")
@requires("retail.view")
def top_up(member_id):
    return _act(member_id, lambda m: wallet.top_up(m, {"amount": request.form.get("amount", ""),
                                                       "method": request.form.get("method", ""),
                                                       "store_id": request.form.get("store_id") or None}),
                _("Top-up recorded."))


@bp.post("/members/<int:member_id>/points")
@requires("retail.view")
def redeem_points(member_id):
    raw = (request.form.get("points") or "").strip()
    amount = int(raw) if raw.isdigit() and len(raw) < 9 else -1
    return _act(member_id, lambda m: points.redeem(m.id, amount, (request.form.get("note") or "")[:200] or None),
                _("Points redeemed."))


@bp.route("/coupons", methods=["GET", "POST"])
@requires("retail.view")
def coupon_templates():
    errors = {}
    if request.method == "POST":
        if not current_user.has_permission("retail.manage"):
            abort(403)
        try:
            coupons.save_template({k: request.form.get(k) for k in ("code", "name", "kind", "value", "min_spend",
                                                                    "valid_days") if request.form.get(k)})
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Coupon template saved."), "success")
            return redirect(url_for("retail.coupon_templates"))
    issued, used = coupons.redemption_rate()
    return render_template("retail/coupons.html", templates=coupons.templates(), errors=errors, values=request.form,
                           issued=issued, used=used, tiers=members.tiers()), (422 if errors else 200)


# --- the shopper's pages: join by QR code (SMS code), the member card ------------------------------------------------

PENDING = "storecrm.retail.join"
CODE_TTL, CODE_TRIES, RESEND_AFTER = 600, 5, 60
# beyond the five tries a session gets: every POST is limited per address (a bot that drops its cookie starts a new
# session, not a new allowance), and texts per mobile number, so nobody can bomb one phone from many addresses
JOIN_LIMIT = "10 per minute;60 per hour"
CODES_PER_MOBILE = parse_limit("3 per 10 minutes")


def _digest(mobile: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{current_tenant_id()}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def _join_key(*parts) -> str:
    return ":".join(["retail-join", str(current_tenant_id()), *map(str, parts)])


def _may_text(mobile: str) -> bool:
    """Whether this mobile may get another code now (and count it). Like the core's limiter (RATELIMIT_SWALLOW_ERRORS),
    an unreachable Redis lets shoppers join rather than failing the page; it is logged."""
    try:
        return limiter.limiter.hit(CODES_PER_MOBILE, _join_key("sms", mobile))
    except Exception:  # noqa: BLE001 — the storage's own errors (redis, connection) vary by backend
        current_app.logger.exception("retail join: rate-limit storage unavailable; code sent without the check")
        return True


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit(JOIN_LIMIT, methods=["POST"])
def join(token):
    store = get_scoped(Store, tokens.read(tokens.JOIN, token))
    if store is None or not store.active:
        abort(404)
    errors, values, step = {}, request.form, "details"
    pending = session.get(PENDING)
    if request.method == "POST" and request.form.get("website"):     # honeypot
        abort(400)
    if request.method == "POST" and "code" in request.form and pending and pending.get("store") == store.id:
        step = "code"
        if _time.time() - pending["at"] > CODE_TTL or pending["tries"] >= CODE_TRIES:
            session.pop(PENDING, None)
            errors = {"code": [_("The code has expired. Please start again.")]}
        elif not hmac.compare_digest(pending["digest"], _digest(pending["data"]["mobile"], request.form["code"].strip())):
            pending["tries"] += 1
            session[PENDING] = pending
            errors = {"code": [_("This code is not right. Check the SMS and try again.")]}
        else:
            try:
                member = members.register(None, pending["data"], source="qr")
            except ValidationError as err:
                errors, step = flatten_errors(err.messages), "details"
            else:
                session.pop(PENDING, None)
                return redirect(url_for("retail.card", token=tokens.make(tokens.CARD, member.id)))
    elif request.method == "POST":
        data = {"name": request.form.get("name", ""), "mobile": request.form.get("mobile", ""),
                "store_id": store.id, "birthday": request.form.get("birthday") or None,
                "consent": request.form.get("consent") in ("1", "on", "y")}
        try:
            loaded = members.RegisterSchema().load(data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        if not data["consent"]:
            errors["consent"] = [_("Please agree to the membership terms.")]
        if not errors:
            if pending and _time.time() - pending["at"] < RESEND_AFTER and pending["data"]["mobile"] == loaded["mobile"]:
                step = "code"      # a double tap does not text a second code
            elif not _may_text(loaded["mobile"]):
                errors = {"mobile": [_("Too many codes were sent to this number. Please try again later.")]}
            else:
                code = f"{secrets.randbelow(10**6):06d}"
                data["mobile"] = loaded["mobile"]
                session[PENDING] = {"store": store.id, "data": data, "digest": _digest(loaded["mobile"], code),
                                    "at": _time.time(), "tries": 0}
                send_template("sms", loaded["mobile"], "retail.join_code", {"store": store.name, "code": code},
                              payload={"scrub": True, "verification": True})
                step = "code"
    if errors:
        refuse()
    return render_template("retail/join.html", store=store, token=token, errors=errors, values=values,
                           step=step), (422 if errors else 200)


def _card_member(token):
    member = members.get_member(tokens.read(tokens.CARD, token))
    if member is None:
        abort(404)
    return member


@bp.get("/card/<token>")
def card(token):
    member = _card_member(token)
    customer = members.customer_of(member)
    if (response := bind_public_visitor(customer)) is not None:   # inside WeChat: sign in, bind the openid
        return response
    return render_template("retail/card.html", member=member, customer=customer, token=token,
                           topup_url=online_payment_url("retail.topup", member.id, customer,
                                                        return_url=request.full_path.rstrip("?")),
                           tier=tiers.tier_named(member.tier_code), svg=_svg(member.member_no, 7),
                           coupons=coupons.coupons_of(member.id), purchases=purchases.purchases_of(member.id, 20),
                           expiring=points.expiring_within(member.id, 30), today=tenant_today(),
                           kinds=complaints.KINDS, statuses=complaints.STATUSES,
                           my_complaints=_complaints_of(member))


# --- campaigns ------------------------------------------------------------------------------------------------------

@bp.route("/campaigns", methods=["GET", "POST"])
@requires("retail.view")
def campaign_list():
    errors = {}
    if request.method == "POST":
        if not current_user.has_permission("retail.manage"):
            abort(403)
        try:
            campaign = campaigns.create({k: request.form.get(k) for k in (
                "name", "template", "message", "control_pct", "window_days", "segment", "tier", "rfm", "view_id")
                if request.form.get(k)}, current_user)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("retail.campaign", campaign_id=campaign.id))
    return render_template("retail/campaigns.html", rows=campaigns.listing(), errors=errors, values=request.form,
                           templates=coupons.templates(), segments=campaigns.SEGMENTS, rfm_segments=RFM_SEGMENTS,
                           views=saved_customer_views(current_user), tiers=members.tiers()), (422 if errors else 200)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@requires("retail.view")
def campaign(campaign_id):
    row = campaigns.get(campaign_id)
    if row is None:
        abort(404)
    errors = {}
    if request.method == "POST":
        if not current_user.has_permission("retail.manage"):
            abort(403)
        try:
            campaigns.launch(row, user=current_user)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Campaign launched."), "success")
            return redirect(url_for("retail.campaign", campaign_id=row.id))
    return render_template("retail/campaign.html", campaign=row, report=campaigns.report(row), errors=errors,
                           segments=campaigns.SEGMENTS, rfm_segments=RFM_SEGMENTS,
                           views={v.id: v.name for v in saved_customer_views(current_user)}), (422 if errors else 200)


# --- complaints -----------------------------------------------------------------------------------------------------

@bp.route("/complaints", methods=["GET", "POST"])
@requires("retail.view")
def complaint_list():
    errors = {}
    if request.method == "POST":
        if not current_user.has_permission("retail.till"):
            abort(403)
        member = members.by_number(request.form.get("member_no"))
        try:
            if member is None:
                raise ValidationError({"member_no": [_("No member has this number.")]})
            complaint = complaints.intake(current_user, {"customer_id": member.customer_id,
                                                         "store_id": request.form.get("store_id"),
                                                         "kind": request.form.get("kind", ""),
                                                         "description": request.form.get("description", "")})
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("retail.complaint", complaint_id=complaint.id))
    return render_template("retail/complaints.html", rows=complaints.listing(), errors=errors, values=request.form,
                           kinds=complaints.KINDS, statuses=complaints.STATUSES,
                           store_options=[(s.id, s.name) for s in _stores()]), (422 if errors else 200)


@bp.route("/complaints/<int:complaint_id>", methods=["GET", "POST"])
@requires("retail.view")
def complaint(complaint_id):
    row = complaints.get(complaint_id)
    if row is None:
        abort(404)
    errors = {}
    if request.method == "POST":
        if not current_user.has_permission("retail.till"):
            abort(403)
        action = request.form.get("action")
        try:
            if action == "respond":
                complaints.respond(current_user, row, request.form.get("note", ""))
            elif action == "wait":
                complaints.wait_for_customer(current_user, row, request.form.get("note", ""))
            elif action == "resume":
                complaints.resume(current_user, row, request.form.get("note", ""))
            elif action == "rate":
                complaints.rate(current_user, row, request.form.get("score"))
            elif action == "remedy":
                remedies.issue(current_user, row, _remedy_form(request.form))
            elif action == "transfer":
                raw = request.form.get("to_user_id", "")
                complaints.transfer(current_user, row, int(raw) if raw.isdigit() and len(raw) < 18 else None,
                                    request.form.get("note"))
            else:
                complaints.resolve(current_user, row, request.form.get("resolution", ""))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("retail.complaint", complaint_id=row.id))
    staff = {u.id: u for role in ("owner", "admin", "manager", "advisor") for u in staff_with_role(role)}
    member = members.member_of_customer(row.customer_id)
    bought = purchases.purchases_of(member.id, 10) if member else []
    given = remedies.remedies_of(row.id)
    return render_template("retail/complaint.html", complaint=row, customer=get_scoped(Customer, row.customer_id),
                           events=complaints.events_of(row.id), kinds=complaints.KINDS, statuses=complaints.STATUSES,
                           event_labels=complaints.EVENTS, staff=staff, errors=errors, values=request.form,
                           remedies=given, coupon_names=remedies.coupon_names(given), remedy_kinds=remedies.KINDS,
                           templates=[t for t in coupons.templates() if t.active],
                           purchases=bought, lines={p.id: purchases.lines_for(p) for p in bought}), \
        (422 if errors else 200)


def _remedy_form(form) -> dict:
    """The remedy form: a return sends `qty_<line id>` for each line coming back."""
    lines = [{"line_id": key[4:], "quantity": value} for key, value in form.items()
             if key.startswith("qty_") and key[4:].isdigit() and value.strip() not in ("", "0")]
    return {"kind": form.get("kind", ""), "template": form.get("template") or None,
            "purchase_id": form.get("purchase_id") or None, "amount": form.get("amount") or None,
            "lines": lines, "note": form.get("note", "")}


# --- offline till: what was reconciled, rejections first to follow up --------------------------------------------

@bp.get("/offline")
@requires("retail.view")
def offline_list():
    status = request.args.get("status") if request.args.get("status") in offline.STATUSES else None
    return render_template("retail/offline.html", rows=offline.listing(status), status=status,
                           statuses=offline.STATUSES, reasons=offline.REASONS,
                           stores={s.id: s.name for s in _stores()})


def _complaints_of(member):
    return list(db.session.scalars(select(Complaint).where(Complaint.customer_id == member.customer_id)
                                   .order_by(Complaint.id.desc()).limit(10)))


@bp.get("/card/<token>/offline")
def offline_pass(token):
    """A signed, short-lived code the till can check with no network (offline.py); the page renews it."""
    member = _card_member(token)
    token_, expires = offline.issue_pass(member)
    payload = offline.verify(token_, offline.tenant_key())
    seconds = max(int((expires - utcnow()).total_seconds()) - 30, 30)
    page = render_template("retail/offline_pass.html", member=member, token=token, svg=_svg(token_, 5),
                           pass_token=token_, expires=expires, cap=payload["p"], coupon_count=len(payload["c"]))
    return page, 200, {"Refresh": str(seconds), "Cache-Control": "no-store"}


@bp.post("/card/<token>/complaints/<int:complaint_id>/rating")
@limiter.limit(JOIN_LIMIT)
def card_rate(token, complaint_id):
    """The member rates how their own complaint was resolved (1-5)."""
    member = _card_member(token)
    row = complaints.get(complaint_id)
    if row is None or row.customer_id != member.customer_id:
        abort(404)
    try:
        complaints.rate(None, row, request.form.get("score"))
    except ValidationError as err:
        refuse()
        flash(" ".join(m for ms in flatten_errors(err.messages).values() for m in ms), "danger")
    else:
        flash(_("Thank you for your rating."), "success")
    return redirect(url_for("retail.card", token=token))


@bp.post("/card/<token>/complaint")
@limiter.limit(JOIN_LIMIT)
def card_complaint(token):
    """A complaint from the member's own page (no login: the signed card link is the member's)."""
    member = _card_member(token)
    try:
        complaints.intake(None, {"customer_id": member.customer_id, "store_id": member.store_id,
                                 "kind": request.form.get("kind", ""), "description": request.form.get("description", "")},
                          source="member")
    except ValidationError as err:
        refuse()
        flash(" ".join(m for ms in flatten_errors(err.messages).values() for m in ms), "danger")
    else:
        flash(_("Thank you. We will call you back within 2 hours."), "success")
    return redirect(url_for("retail.card", token=token))
