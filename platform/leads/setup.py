"""Channels, campaigns and assignment rules: what admins set up (validated here, audited)."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import conditions
from ..audit.services import record
from ..extensions import db
from ..stores.models import Store
from ..tenancy.models import get_scoped
from ..users.models import User
from .models import LeadAssignmentRule, LeadCampaign, LeadChannel
from .services import new_secret


def list_channels(active_only: bool = False) -> list[LeadChannel]:
    query = select(LeadChannel).order_by(LeadChannel.name)
    if active_only:
        query = query.where(LeadChannel.active.is_(True))
    return list(db.session.scalars(query))


def list_campaigns() -> list[LeadCampaign]:
    return list(db.session.scalars(select(LeadCampaign).order_by(LeadCampaign.starts_on.desc().nulls_last(),
                                                                 LeadCampaign.name)))


def list_rules() -> list[LeadAssignmentRule]:
    return list(db.session.scalars(select(LeadAssignmentRule).order_by(LeadAssignmentRule.position,
                                                                       LeadAssignmentRule.id)))


def _store_error(errors: dict, store_id) -> None:
    if store_id is not None:
        store = get_scoped(Store, store_id)
        if store is None or not store.active:
            errors["store_id"] = [_("Choose an active store.")]


def _unique(fn, field: str):
    try:
        with db.session.begin_nested():
            return fn()
    except IntegrityError:
        raise ValidationError({field: [_("This name is already taken.")]}) from None


def save_channel(channel: LeadChannel | None, data: dict) -> LeadChannel:
    """Create (with a fresh signing secret) or change a channel."""
    errors: dict = {}
    _store_error(errors, data.get("store_id"))
    if errors:
        raise ValidationError(errors)
    created = channel is None
    if created:
        channel = LeadChannel(secret=new_secret())
    for key in ("name", "kind", "cost_per_month", "first_contact_minutes", "store_id", "active"):
        if key in data:
            setattr(channel, key, data[key])

    def write():
        db.session.add(channel)
        db.session.flush()
        return channel

    _unique(write, "name")
    record("create" if created else "update", "lead_channel", channel.id, channel.name)
    return channel


def regenerate_secret(channel: LeadChannel) -> str:
    """A new signing secret (the old one stops working at once); returned to be shown once."""
    channel.secret = new_secret()
    record("update", "lead_channel", channel.id, f"{channel.name}: new secret")
    db.session.flush()
    return channel.secret


def save_campaign(campaign: LeadCampaign | None, data: dict) -> LeadCampaign:
    errors: dict = {}
    if data.get("channel_id") is not None and get_scoped(LeadChannel, data["channel_id"]) is None:
        errors["channel_id"] = [_("Choose one of the listed options.")]
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        errors["ends_on"] = [_("The end cannot be before the start.")]
    if errors:
        raise ValidationError(errors)
    created = campaign is None
    campaign = campaign or LeadCampaign()
    for key in ("name", "channel_id", "starts_on", "ends_on", "cost", "active"):
        if key in data:
            setattr(campaign, key, data[key])

    def write():
        db.session.add(campaign)
        db.session.flush()
        return campaign

    _unique(write, "name")
    record("create" if created else "update", "lead_campaign", campaign.id, campaign.name)
    return campaign


def save_rule(rule: LeadAssignmentRule | None, data: dict) -> LeadAssignmentRule:
    errors: dict = {}
    if data.get("channel_id") is not None and get_scoped(LeadChannel, data["channel_id"]) is None:
        errors["channel_id"] = [_("Choose one of the listed options.")]
    _store_error(errors, data.get("store_id"))
    staff = data.get("staff_ids") or []
    if staff:
        found = set(db.session.scalars(select(User.id).where(User.id.in_(staff), User.active.is_(True))))
        if found != set(staff):
            errors["staff_ids"] = [_("Choose active staff members.")]
    if data.get("fallback_user_id") is not None:
        fallback = get_scoped(User, data["fallback_user_id"])
        if fallback is None or not fallback.active:
            errors["fallback_user_id"] = [_("Choose an active staff member.")]
    people = {int(k) for k in (data.get("weights") or {})} | set((data.get("field_map") or {}).values())
    if people:
        found = set(db.session.scalars(select(User.id).where(User.id.in_(people), User.active.is_(True))))
        if found != people:
            errors["weights" if data.get("strategy") == "weighted" else "field_map"] = [
                _("Choose active staff members.")]
    if data.get("strategy") == "by_field" and (not data.get("field") or not data.get("field_map")):
        errors["field_map"] = [_("Name the field and at least one value with its person.")]
    if data.get("strategy") == "weighted" and data.get("weights") and not any(data["weights"].values()):
        errors["weights"] = [_("Give at least one person a weight above 0.")]
    try:
        tree = conditions.check("lead", data.get("conditions"))
    except ValidationError as err:
        errors.update({k: [str(m) for m in v] for k, v in err.messages.items()})
        tree = None
    if errors:
        raise ValidationError(errors)
    created = rule is None
    rule = rule or LeadAssignmentRule()
    for key in ("name", "position", "active", "channel_id", "store_id", "strategy", "fallback_user_id",
                "first_contact_minutes", "field"):
        if key in data:
            setattr(rule, key, data[key])
    if "conditions" in data:
        rule.conditions = tree
    if "weights" in data:
        rule.weights = {str(k): int(v) for k, v in (data["weights"] or {}).items()}
        rule.credits = {}  # new weights, a fresh start
    if "field_map" in data:
        rule.field_map = {k: int(v) for k, v in (data["field_map"] or {}).items()}
    if "staff_ids" in data:
        rule.staff_ids = sorted(set(staff))
    db.session.add(rule)
    db.session.flush()
    record("create" if created else "update", "lead_rule", rule.id, rule.name)
    return rule


def delete_rule(rule: LeadAssignmentRule) -> None:
    record("delete", "lead_rule", rule.id, rule.name)
    db.session.delete(rule)
    db.session.flush()
