"""Campaigns: a segment of members gets a coupon and/or an SMS, except a random held-out control group; the uplift
report compares the repurchase rate in the window after launch, treatment vs control.

A segment is all members, the dormant ones, one tier, one of the core's RFM segments (the same rule and thresholds
as the "RFM segments" report) or a saved customer view (exactly the customers that view lists for the person who
launches): the audience is the members among those customers, fixed at launch."""
import random
from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from storecrm.sdk import (RFM_SEGMENTS, Customer, Trimmed, db, get_scoped, record_audit, rfm_customer_ids,
                          saved_customer_views, saved_view_customer_ids, send_message, utcnow)

from . import coupons
from .models import Campaign, CampaignMember, Member, Purchase

SEGMENTS = {"all": _l("All members"), "dormant": _l("No purchase in the last 90 days"),
            "tier": _l("Members of one tier"), "rfm": _l("An RFM segment"), "view": _l("A saved customer view")}


class CampaignIn(Schema):
    name = Trimmed(required=True, validate=validate.Length(min=1, max=60))
    template = Trimmed(load_default=None, allow_none=True)
    message = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    control_pct = fields.Integer(load_default=10, strict=False, validate=validate.Range(min=0, max=90))
    window_days = fields.Integer(load_default=30, strict=False, validate=validate.Range(min=1, max=365))
    segment = fields.String(load_default="all", validate=validate.OneOf(list(SEGMENTS)))
    tier = Trimmed(load_default=None, allow_none=True)
    rfm = fields.String(load_default=None, allow_none=True,
                        validate=validate.OneOf(list(RFM_SEGMENTS), error=_l("Choose one of the listed options.")))
    view_id = fields.Integer(load_default=None, allow_none=True, strict=False)


def views_for(user) -> list:
    return saved_customer_views(user) if user is not None and getattr(user, "id", None) else []


def create(data: dict, user=None) -> Campaign:
    """`user` is who creates it: a saved view must be one they may use (their own or a shared one)."""
    data = CampaignIn().load(data)
    if data["segment"] == "rfm" and not data["rfm"]:
        raise ValidationError({"rfm": [_("Choose one of the listed options.")]})
    if data["segment"] == "view" and data["view_id"] not in {v.id for v in views_for(user)}:
        raise ValidationError({"view_id": [_("Choose one of the listed options.")]})
    template = coupons.template_by_code(data["template"]) if data["template"] else None
    if data["template"] and template is None:
        raise ValidationError({"template": [_("Choose one of the listed options.")]})
    if template is None and not data["message"]:
        raise ValidationError({"message": [_("Give a coupon, a message or both.")]})
    campaign = Campaign(name=data["name"], template_id=template.id if template else None, message=data["message"],
                        control_pct=data["control_pct"], window_days=data["window_days"],
                        segment={"segment": data["segment"], "tier": data["tier"], "rfm": data["rfm"],
                                 "view_id": data["view_id"]})
    db.session.add(campaign)
    db.session.flush()
    record_audit("create", "retail_campaign", campaign.id, campaign.name)
    return campaign


def audience(segment: dict, user=None) -> list[int]:
    """The ids of the members a campaign with `segment` reaches (control group included), as of now."""
    query = select(Member.id).order_by(Member.id)
    if segment.get("segment") == "rfm":
        query = query.where(Member.customer_id.in_(rfm_customer_ids(segment.get("rfm") or "")))
    elif segment.get("segment") == "view":
        if user is None or not getattr(user, "id", None):
            raise ValidationError({"view_id": [_("A campaign on a saved view is launched by a person.")]})
        query = query.where(Member.customer_id.in_(saved_view_customer_ids(user, segment.get("view_id"))))
    elif segment.get("segment") == "tier" and segment.get("tier"):
        query = query.where(Member.tier_code == segment["tier"])
    elif segment.get("segment") == "dormant":
        recent = select(Purchase.member_id).where(Purchase.at >= utcnow() - timedelta(days=90))
        query = query.where(Member.id.not_in(recent))
    return list(db.session.scalars(query))


def launch(campaign: Campaign, *, rng: random.Random | None = None, user=None) -> dict:
    """Pick the members, hold out a random control group, give the rest the coupon / SMS. Once per campaign.
    `user`: who launches (a saved view lists what this person sees)."""
    if campaign.launched_at is not None:
        raise ValidationError({"campaign": [_("This campaign has already been launched.")]})
    ids = audience(campaign.segment or {"segment": "all"}, user)
    if not ids:
        raise ValidationError({"segment": [_("No member is in this segment.")]})
    rng = rng or random.SystemRandom()
    shuffled = ids[:]
    rng.shuffle(shuffled)
    held_out = set(shuffled[:round(len(ids) * campaign.control_pct / 100)])
    template = get_scoped(coupons.CouponTemplate, campaign.template_id) if campaign.template_id else None
    for member_id in ids:
        db.session.add(CampaignMember(campaign_id=campaign.id, member_id=member_id, control=member_id in held_out))
        if member_id in held_out:
            continue
        member = get_scoped(Member, member_id)
        if template is not None:
            coupons.issue(member, template.code, issued_by="campaign", campaign_id=campaign.id)
        if campaign.message:
            customer = get_scoped(Customer, member.customer_id)
            if customer is not None and customer.mobile:
                send_message("sms", customer.mobile, "", campaign.message, customer=customer, marketing=True,
                             dedupe_key=f"retail-campaign-{campaign.id}-{member_id}")
    campaign.launched_at = utcnow()
    db.session.flush()
    record_audit("update", "retail_campaign", campaign.id, f"{campaign.name}: {len(ids)} ({len(held_out)} held out)")
    return {"treatment": len(ids) - len(held_out), "control": len(held_out)}


def report(campaign: Campaign) -> dict:
    """Repurchase rate in the window after launch: members of the group with a purchase / members of the group."""
    out = {}
    if campaign.launched_at is None:
        return {"treatment": None, "control": None, "uplift": None}
    end = campaign.launched_at + timedelta(days=campaign.window_days)
    bought = (select(func.count(func.distinct(Purchase.member_id))).where(
        Purchase.member_id == CampaignMember.member_id, Purchase.at >= campaign.launched_at, Purchase.at < end)
        .correlate(CampaignMember).scalar_subquery())
    rows = db.session.execute(select(CampaignMember.control, func.count(), func.sum(bought))
                              .where(CampaignMember.campaign_id == campaign.id).group_by(CampaignMember.control)).all()
    for control, members, buyers in rows:
        rate = (Decimal(int(buyers or 0)) * 100 / members).quantize(Decimal("0.1")) if members else None
        out["control" if control else "treatment"] = {"members": members, "buyers": int(buyers or 0), "rate": rate}
    t, c = out.get("treatment"), out.get("control")
    out.setdefault("treatment", None)
    out.setdefault("control", None)
    out["uplift"] = (t["rate"] - c["rate"]) if t and c and t["rate"] is not None and c["rate"] is not None else None
    return out


def listing():
    return list(db.session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(100)))


def get(campaign_id):
    return get_scoped(Campaign, campaign_id)
