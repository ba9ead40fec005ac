"""REST API under /api/v1/retail: members, points, coupons, stored value, till purchases (Idempotency-Key)."""
from flask import request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields
from sqlalchemy import func, select

from storecrm.sdk import PageArgs, api_requires as requires, api_user, db, keyset_page, page_schema, paged, unprocessable

from . import campaigns, complaints, coupons, members, offline, points, purchases, remedies, wallet
from .models import Member

blp = Blueprint("api_retail", __name__, url_prefix="/retail", description="Retail membership")


class MemberOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    member_no = fields.String()
    store_id = fields.Integer(allow_none=True)
    tier_code = fields.String()
    points_balance = fields.Integer()
    stored_balance = fields.Decimal(as_string=True)
    source = fields.String()
    joined_at = fields.DateTime()


class MemberIn(Schema):
    name = fields.String(required=True)
    mobile = fields.String(required=True)
    store_id = fields.Integer(required=True)
    birthday = fields.Date(load_default=None, allow_none=True)
    consent = fields.Boolean(load_default=False)


class MemberArgs(PageArgs):
    after_id = fields.Integer(load_default=None, allow_none=True)
    member_no = fields.String(load_default=None, allow_none=True)


class PointEntryOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    points = fields.Integer()
    purchase_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    at = fields.DateTime()


class RedeemPointsIn(Schema):
    points = fields.Integer(required=True, strict=True)
    note = fields.String(load_default=None, allow_none=True)


class CouponOut(Schema):
    id = fields.Integer()
    code = fields.String()
    template = fields.String(attribute="template_code")
    valid_from = fields.Date()
    valid_until = fields.Date()
    issued_by = fields.String()
    redeemed_at = fields.DateTime(allow_none=True)


class IssueIn(Schema):
    template = fields.String(required=True)


class RedeemCouponIn(Schema):
    member_no = fields.String(required=True)
    code = fields.String(required=True)
    store_id = fields.Integer(load_default=None, allow_none=True)


class SvEntryOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    amount = fields.Decimal(as_string=True)
    topup_id = fields.Integer(allow_none=True)
    purchase_id = fields.Integer(allow_none=True)
    method = fields.String(allow_none=True)
    at = fields.DateTime()


class StoredValueOut(Schema):
    balance = fields.Decimal(as_string=True)
    entries = fields.List(fields.Nested(SvEntryOut))


class PurchaseOut(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    order_id = fields.Integer()
    store_id = fields.Integer()
    staff_id = fields.Integer(allow_none=True)
    amount = fields.Decimal(as_string=True)
    discount = fields.Decimal(as_string=True)
    paid_stored_value = fields.Decimal(as_string=True)
    paid_other = fields.Decimal(as_string=True)
    method = fields.String()
    coupon_id = fields.Integer(allow_none=True)
    points_earned = fields.Integer()
    refunded = fields.Decimal(as_string=True)
    at = fields.DateTime()


class RefundIn(Schema):
    amount = fields.Decimal(required=True, as_string=True)
    note = fields.String(required=True)


def _key():
    return (request.headers.get("Idempotency-Key") or "").strip()[:80] or None


def _member(member_id) -> Member:
    member = members.get_member(member_id)
    if member is None:
        abort(404)
    return member


def _loaded(schema, raw):
    try:
        return schema.load(raw or {})
    except ValidationError as err:
        unprocessable(err)


@blp.route("/members")
@blp.arguments(MemberArgs, location="query")
@blp.response(200, page_schema(MemberOut))
@requires("retail.view")
def list_members(args):
    """Members, newest first; keyset paging with `after_id` (the last id of the previous page)."""
    query = select(Member)
    if args.get("member_no"):
        query = query.where(Member.member_no == args["member_no"].strip())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = keyset_page(query, Member, Member.id, True, args.get("after_id"))
    items = list(db.session.scalars(page.limit(args["per_page"])))
    return paged(items, total, args)


@blp.route("/members", methods=["POST"])
@blp.response(201, MemberOut)
@requires("retail.till")
def create_member():
    """Register a member at a till by mobile (One-ID: a known mobile's customer becomes the member)."""
    try:
        return members.register(api_user(), request.get_json(silent=True) or {}, source="till")
    except ValidationError as err:
        unprocessable(err)


@blp.route("/members/<int:member_id>")
@blp.response(200, MemberOut)
@requires("retail.view")
def get_member(member_id):
    return _member(member_id)


@blp.route("/members/<int:member_id>/points")
@blp.response(200, PointEntryOut(many=True))
@requires("retail.view")
def points_ledger(member_id):
    """The member's points ledger, newest first (its sum is the balance)."""
    return points.ledger_of(_member(member_id).id, 200)


@blp.route("/members/<int:member_id>/points/redemptions", methods=["POST"])
@blp.response(201, PointEntryOut)
@requires("retail.till")
def redeem_points(member_id):
    member = _member(member_id)
    data = _loaded(RedeemPointsIn(), request.get_json(silent=True))
    try:
        return points.redeem(member.id, data["points"], data["note"])
    except ValidationError as err:
        unprocessable(err)


def _coupon_out(coupon, template):
    coupon.template_code = template.code
    return coupon


@blp.route("/members/<int:member_id>/coupons")
@blp.response(200, CouponOut(many=True))
@requires("retail.view")
def member_coupons(member_id):
    return [_coupon_out(c, t) for c, t in coupons.coupons_of(_member(member_id).id)]


@blp.route("/members/<int:member_id>/coupons", methods=["POST"])
@blp.response(201, CouponOut)
@requires("retail.till")
def issue_coupon(member_id):
    """Staff give a coupon of template `template` (its code) to the member."""
    member = _member(member_id)
    data = _loaded(IssueIn(), request.get_json(silent=True))
    try:
        coupon = coupons.issue(member, data["template"], issued_by="staff")
    except ValidationError as err:
        unprocessable(err)
    return _coupon_out(coupon, coupons.template_by_code(data["template"]))


@blp.route("/coupons/redemptions", methods=["POST"])
@blp.response(201, CouponOut)
@requires("retail.till")
def redeem_coupon():
    """Redeem a coupon (a gift handed over) at a till: exactly once, however many tills try at the same time."""
    data = _loaded(RedeemCouponIn(), request.get_json(silent=True))
    member = members.by_number(data["member_no"])
    if member is None:
        unprocessable(ValidationError({"member_no": [_("No member has this number.")]}))
    try:
        coupon = coupons.redeem(member, data["code"], store_id=data["store_id"])
    except ValidationError as err:
        unprocessable(err)
    template = next(t for c, t in coupons.coupons_of(member.id) if c.id == coupon.id)
    return _coupon_out(coupon, template)


@blp.route("/members/<int:member_id>/stored-value")
@blp.response(200, StoredValueOut)
@requires("retail.view")
def stored_value(member_id):
    member = _member(member_id)
    return {"balance": member.stored_balance, "entries": wallet.ledger_of(member.id, 200)}


@blp.route("/members/<int:member_id>/stored-value/top-ups", methods=["POST"])
@blp.response(201, SvEntryOut)
@requires("retail.till")
def top_up(member_id):
    """A top-up (amount, method, store_id); the bonus follows the tenant's steps. Honours `Idempotency-Key`."""
    member = _member(member_id)
    try:
        return wallet.top_up(member, request.get_json(silent=True) or {}, request_key=_key())
    except ValidationError as err:
        unprocessable(err)


@blp.route("/members/<int:member_id>/stored-value/top-ups/<int:topup_id>/refund", methods=["POST"])
@blp.response(200, StoredValueOut)
@requires("retail.manage")
def refund_top_up(member_id, topup_id):
    """Refund a top-up: its bonus is clawed back first; answers the card's ledger."""
    member = _member(member_id)
    try:
        wallet.refund_topup(member, topup_id)
    except ValidationError as err:
        if "topup_id" in err.messages:
            abort(404)
        unprocessable(err)
    member = members.get_member(member.id)
    db.session.refresh(member)
    return {"balance": member.stored_balance, "entries": wallet.ledger_of(member.id, 200)}


@blp.route("/purchases", methods=["POST"])
@blp.response(201, PurchaseOut)
@requires("retail.till")
def create_purchase():
    """A sale at a till: member_no, store_id, staff_id, lines [{item_id | description + unit_price, quantity}],
    coupon_code, stored_value (the part paid from the card), method (the rest). Send `Idempotency-Key`: a till's
    retry returns the first purchase and records nothing."""
    try:
        return purchases.record_purchase(api_user(), request.get_json(silent=True) or {}, request_key=_key())
    except ValidationError as err:
        unprocessable(err)


@blp.route("/purchases/<int:purchase_id>")
@blp.response(200, PurchaseOut)
@requires("retail.view")
def get_purchase(purchase_id):
    purchase = purchases.get_purchase(purchase_id)
    if purchase is None:
        abort(404)
    return purchase


@blp.route("/purchases/<int:purchase_id>/refunds", methods=["POST"])
@blp.response(201, PurchaseOut)
@requires("retail.till")
def refund_purchase(purchase_id):
    """Refund part or all of a purchase: money back to where it came from, points taken back in proportion."""
    purchase = purchases.get_purchase(purchase_id)
    if purchase is None:
        abort(404)
    data = _loaded(RefundIn(), request.get_json(silent=True))
    try:
        return purchases.refund(api_user(), purchase, data["amount"], data["note"], request_key=_key())
    except ValidationError as err:
        unprocessable(err)


class CampaignOut(Schema):
    id = fields.Integer()
    name = fields.String()
    template_id = fields.Integer(allow_none=True)
    message = fields.String(allow_none=True)
    control_pct = fields.Integer()
    window_days = fields.Integer()
    segment = fields.Dict()
    launched_at = fields.DateTime(allow_none=True)


class GroupOut(Schema):
    members = fields.Integer()
    buyers = fields.Integer()
    rate = fields.Decimal(as_string=True, allow_none=True)


class ReportOut(Schema):
    treatment = fields.Nested(GroupOut, allow_none=True)
    control = fields.Nested(GroupOut, allow_none=True)
    uplift = fields.Decimal(as_string=True, allow_none=True)


class ComplaintOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    store_id = fields.Integer()
    kind = fields.String()
    description = fields.String()
    source = fields.String()
    status = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    first_response_due = fields.DateTime()
    first_responded_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    resolution_due = fields.DateTime(allow_none=True, metadata={"description": "None while waiting for the customer"})
    resolution_left = fields.Integer(allow_none=True, metadata={"description": "store minutes left, while waiting"})
    resolution_overdue = fields.Boolean()
    waiting_since = fields.DateTime(allow_none=True)
    response_minutes = fields.Integer(allow_none=True)
    resolution_minutes = fields.Integer(allow_none=True)
    satisfaction = fields.Integer(allow_none=True)
    resolution = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)


class NoteIn(Schema):
    note = fields.String(load_default="")
    resolution = fields.String(load_default="")


class ScoreIn(Schema):
    score = fields.Raw(load_default=None, metadata={"description": "1-5"})


class ReturnLineDoc(Schema):
    line_id = fields.Integer(required=True)
    quantity = fields.Decimal(required=True, as_string=True)


class RemedyDoc(Schema):
    kind = fields.String(required=True, metadata={"description": "coupon | refund | return"})
    template = fields.String(metadata={"description": "coupon: the template code"})
    purchase_id = fields.Integer(metadata={"description": "refund, return: one of the member's purchases"})
    amount = fields.Decimal(as_string=True, metadata={"description": "refund: the amount"})
    lines = fields.List(fields.Nested(ReturnLineDoc), metadata={"description": "return: the order lines coming back"})
    note = fields.String(required=True)


class RemedyOut(Schema):
    id = fields.Integer()
    complaint_id = fields.Integer()
    kind = fields.String()
    coupon_id = fields.Integer(allow_none=True)
    purchase_id = fields.Integer(allow_none=True)
    amount = fields.Decimal(as_string=True, allow_none=True)
    points_reversed = fields.Integer()
    returned = fields.List(fields.Dict())
    note = fields.String(allow_none=True)
    at = fields.DateTime()


@blp.route("/campaigns")
@blp.response(200, CampaignOut(many=True))
@requires("retail.view")
def list_campaigns():
    return campaigns.listing()


@blp.route("/campaigns", methods=["POST"])
@blp.response(201, CampaignOut)
@requires("retail.manage")
def create_campaign():
    """A campaign: name, segment (all | dormant | tier + `tier` | rfm + `rfm`, one of high_value, potential,
    at_risk, win_back, lost | view + `view_id`, a saved customer view of the token's user), template (a coupon
    template code) and/or message, control_pct (held out at random), window_days (the uplift window)."""
    try:
        return campaigns.create(request.get_json(silent=True) or {}, api_user())
    except ValidationError as err:
        unprocessable(err)


def _campaign(campaign_id):
    row = campaigns.get(campaign_id)
    if row is None:
        abort(404)
    return row


@blp.route("/campaigns/<int:campaign_id>/launch", methods=["POST"])
@blp.response(200, CampaignOut)
@requires("retail.manage")
def launch_campaign(campaign_id):
    row = _campaign(campaign_id)
    try:
        campaigns.launch(row, user=api_user())
    except ValidationError as err:
        unprocessable(err)
    return row


@blp.route("/campaigns/<int:campaign_id>/report")
@blp.response(200, ReportOut)
@requires("retail.view")
def campaign_report(campaign_id):
    """Repurchase rate in the window after launch, treatment vs the held-out control group, and the uplift."""
    return campaigns.report(_campaign(campaign_id))


@blp.route("/complaints")
@blp.response(200, ComplaintOut(many=True))
@requires("retail.view")
def list_complaints():
    return complaints.listing()


@blp.route("/complaints", methods=["POST"])
@blp.response(201, ComplaintOut)
@requires("retail.till")
def create_complaint():
    """A complaint (customer_id, store_id, kind quality | attitude | other, description): routed, 2-hour first response."""
    try:
        return complaints.intake(api_user(), request.get_json(silent=True) or {})
    except ValidationError as err:
        unprocessable(err)


def _complaint(complaint_id):
    row = complaints.get(complaint_id)
    if row is None:
        abort(404)
    return row


@blp.route("/complaints/<int:complaint_id>")
@blp.response(200, ComplaintOut)
@requires("retail.view")
def get_complaint(complaint_id):
    return _complaint(complaint_id)


@blp.route("/complaints/<int:complaint_id>/responses", methods=["POST"])
@blp.response(201, ComplaintOut)
@requires("retail.till")
def respond_complaint(complaint_id):
    row = _complaint(complaint_id)
    data = _loaded(NoteIn(), request.get_json(silent=True))
    try:
        return complaints.respond(api_user(), row, data["note"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/complaints/<int:complaint_id>/resolution", methods=["POST"])
@blp.response(200, ComplaintOut)
@requires("retail.till")
def resolve_complaint(complaint_id):
    row = _complaint(complaint_id)
    data = _loaded(NoteIn(), request.get_json(silent=True))
    try:
        return complaints.resolve(api_user(), row, data["resolution"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/complaints/<int:complaint_id>/waiting", methods=["POST"])
@blp.response(200, ComplaintOut)
@requires("retail.till")
def wait_complaint(complaint_id):
    """The complaint waits for the customer (`note`: what they were asked): the resolution clock stops."""
    row = _complaint(complaint_id)
    data = _loaded(NoteIn(), request.get_json(silent=True))
    try:
        return complaints.wait_for_customer(api_user(), row, data["note"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/complaints/<int:complaint_id>/resumption", methods=["POST"])
@blp.response(200, ComplaintOut)
@requires("retail.till")
def resume_complaint(complaint_id):
    """The customer answered: the resolution clock runs again with the store minutes it had left."""
    row = _complaint(complaint_id)
    data = _loaded(NoteIn(), request.get_json(silent=True))
    try:
        return complaints.resume(api_user(), row, data["note"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/complaints/<int:complaint_id>/satisfaction", methods=["POST"])
@blp.response(200, ComplaintOut)
@requires("retail.till")
def rate_complaint(complaint_id):
    """The customer's satisfaction with the resolution (`score` 1-5, e.g. their SMS reply); once."""
    row = _complaint(complaint_id)
    data = _loaded(ScoreIn(), request.get_json(silent=True))
    try:
        return complaints.rate(api_user(), row, data["score"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/complaints/<int:complaint_id>/remedies")
@blp.response(200, RemedyOut(many=True))
@requires("retail.view")
def complaint_remedies(complaint_id):
    return remedies.remedies_of(_complaint(complaint_id).id)


@blp.route("/complaints/<int:complaint_id>/remedies", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": RemedyDoc}}})
@blp.response(201, RemedyOut)
@requires("retail.till")
def issue_remedy(complaint_id):
    """Give the customer a remedy from the complaint: a coupon (`template`), a refund of one of the member's
    purchases (`purchase_id`, `amount`; the points it earned clawed back) or a return (`purchase_id`, `lines`).
    Recorded on the complaint with a history line, audited; all or nothing."""
    row = _complaint(complaint_id)
    try:
        return remedies.issue(api_user(), row, request.get_json(silent=True) or {})
    except ValidationError as err:
        unprocessable(err)


class OfflineKeyOut(Schema):
    key_id = fields.String()
    version = fields.Integer()
    tenant_id = fields.Integer()
    algorithm = fields.String()
    key = fields.String(metadata={"description": "base64url, no padding"})
    format = fields.String()
    qr_minutes = fields.Integer()
    points_cap = fields.Integer()


class OfflineSaleDoc(Schema):
    key = fields.String(required=True, metadata={"description": "the till's idempotency key of this sale"})
    qr = fields.String(required=True, metadata={"description": "the member pass scanned (SC1.…)"})
    accepted_at = fields.DateTime(required=True)
    points = fields.Integer()
    coupon_code = fields.String(allow_none=True)
    receipt_no = fields.String(allow_none=True)


class OfflineUploadDoc(Schema):
    till = fields.String(required=True)
    store_id = fields.Integer(required=True)
    transactions = fields.List(fields.Nested(OfflineSaleDoc), required=True)


class OfflineResultOut(Schema):
    key = fields.String()
    status = fields.String(metadata={"description": "applied | rejected"})
    reason = fields.String(allow_none=True)
    replayed = fields.Boolean()


class OfflineResultsOut(Schema):
    results = fields.List(fields.Nested(OfflineResultOut))


class OfflineTransactionOut(Schema):
    id = fields.Integer()
    key = fields.String()
    till = fields.String()
    store_id = fields.Integer()
    member_id = fields.Integer(allow_none=True)
    points = fields.Integer()
    coupon_code = fields.String(allow_none=True)
    receipt_no = fields.String(allow_none=True)
    accepted_at = fields.DateTime()
    status = fields.String()
    reason = fields.String(allow_none=True)
    uploaded_at = fields.DateTime()


class OfflineArgs(Schema):
    status = fields.String(load_default=None, allow_none=True)


@blp.route("/offline/key")
@blp.response(200, OfflineKeyOut)
@requires("retail.till")
def offline_key():
    """The key a till verifies member passes with while offline (HMAC-SHA256; docs/plugins/retail.md, "Offline
    till"). Fetch it when online and again after `version` changes."""
    return offline.key_for_tills()


@blp.route("/offline/transactions", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": OfflineUploadDoc}}})
@blp.response(200, OfflineResultsOut)
@requires("retail.till")
def upload_offline():
    """A till's offline sales, reconciled exactly once each: a replayed `key` answers its first outcome and changes
    nothing; rejected ones (pass reused, coupon already used, over the cap …) are reported to the store's manager."""
    try:
        return {"results": offline.reconcile(request.get_json(silent=True) or {})}
    except ValidationError as err:
        unprocessable(err)


@blp.route("/offline/transactions")
@blp.arguments(OfflineArgs, location="query")
@blp.response(200, OfflineTransactionOut(many=True))
@requires("retail.view")
def offline_transactions(args):
    """Reconciled offline sales, newest first; `status=rejected` for the ones to follow up."""
    return offline.listing(args.get("status"))


class SettlementArgs(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class SettlementOut(Schema):
    store_id = fields.Integer()
    store = fields.String()
    taken_in = fields.Decimal(as_string=True)
    accepted = fields.Decimal(as_string=True)
    owed_to_store = fields.Decimal(as_string=True)


@blp.route("/stored-value/settlement")
@blp.arguments(SettlementArgs, location="query")
@blp.response(200, SettlementOut(many=True))
@requires("retail.manage")
def stored_value_settlement(args):
    """Settlement between stores for the local days `start` … `end` (inclusive, the tenant's zone): top-ups each store
    took in, stored value it accepted, and what HQ owes it."""
    from datetime import datetime, time, timedelta

    from storecrm.sdk import tenant_zone

    if args["end"] < args["start"]:
        unprocessable(ValidationError({"end": [_("The end cannot be before the start.")]}))
    zone = tenant_zone()
    return wallet.settlement(datetime.combine(args["start"], time(), tzinfo=zone),
                             datetime.combine(args["end"] + timedelta(days=1), time(), tzinfo=zone))
