"""Leads: capture with One-ID dedupe, assignment, the first-contact SLA, status actions, follow-ups, conversion.

Every function runs in the caller's tenant and transaction and commits nothing; pages, the API, the public form,
the signed webhook, the import and plugins (storecrm.sdk) all call these."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from .. import events as ev
from .. import timers
from ..activities.services import create_task
from ..audit.services import record
from ..customers import identities
from ..customers.models import Customer
from ..customers.services import create_customer, get_customer
from ..events import emit
from ..extensions import db
from ..keyset import page as keyset_page
from ..notifications.services import notify_user
from ..stores.models import Store
from ..stores.services import stores_visible_to
from ..tenancy.context import current_tenant
from ..tenancy.models import current_tenant_row, get_scoped, utcnow
from ..users.models import User
from ..users.services import staff_with_role
from ..calendar import tenant_zone
from ..scheduling.roster import day_bounds
from . import assignment, sla
from .models import (DEFAULT_CLAIMS_PER_DAY, DEFAULT_FIRST_CONTACT_MINUTES, DEFAULT_POOL_AFTER_HOURS,
                     DEFAULT_WON_REPEAT_DAYS, LOST_REASONS, OPEN, POOL_REASONS, Lead, LeadCampaign, LeadChannel,
                     LeadHistory, LeadSettings, LeadStage,
                     LeadStageVisit)
from ..catalog.models import CatalogItem
from ..assets.models import Asset
from ..assets.services import create_asset
from ..customers.models import CustomerIdentity
from ..sales.services import create_quote

UNIQUE_VIOLATION = "23505"
OPEN_MOBILE_INDEX = "uq_leads_open_mobile"
SLA_TIMER = "lead.first_contact"
POOL_TIMER = "lead.pool_return"

STATUS_LABELS = {"new": _l("New"), "contacted": _l("Contacted"), "qualified": _l("Qualified"), "won": _l("Won"),
                 "lost": _l("Lost")}
LOST_REASON_LABELS = {"price": _l("Price too high"), "competitor": _l("Chose a competitor"),
                      "no_response": _l("No response"), "not_interested": _l("Not interested any more"),
                      "bought_elsewhere": _l("Bought elsewhere"), "invalid": _l("Invalid lead"),
                      "other": _l("Other reason"), "merged": _l("Merged into another lead")}
SOURCE_LABELS = {"form": _l("Public form"), "api": _l("API"), "webhook": _l("Platform webhook"),
                 "import": _l("Import"), "staff": _l("Entered by staff")}
METHOD_LABELS = {"call": _l("Phone call"), "wechat": _l("WeChat"), "visit": _l("Store visit"), "sms": _l("SMS"),
                 "note": _l("Note")}
HISTORY_LABELS = {"captured": _l("Lead captured"), "enquiry": _l("Repeat enquiry"), "assigned": _l("Assigned"),
                  "status": _l("Status changed"), "follow_up": _l("Follow-up"),
                  "escalated": _l("First contact overdue: escalated"), "converted": _l("Converted to a customer"),
                  "note": _l("Note"), "stage": _l("Stage changed"), "pooled": _l("Returned to the public pool"),
                  "claimed": _l("Claimed from the public pool"), "reopened": _l("Reopened by a repeat enquiry"),
                  "merged": _l("Merged"), "handed_over": _l("Handed over")}
POOL_LABELS = {"open": _l("Public pool"), "lost": _l("Lost leads pool")}
REPEAT_MODE_LABELS = {"reopen": _l("Reopen the closed lead"), "new": _l("Start a new lead")}
POOL_REASON_LABELS = {"no_answer": _l("Nobody answers"), "not_my_area": _l("Not my area or product"),
                      "not_ready": _l("Not ready to buy yet"), "other": _l("Other reason"),
                      "not_followed_up": _l("Not followed up in time"), "rule": _l("Sent by an assignment rule")}
STAFF_POOL_REASONS = POOL_REASONS[:4]
ACTION_LABELS = {"contact": _l("Mark contacted"), "qualify": _l("Qualify"), "lose": _l("Mark lost")}
# action -> (statuses it may start from, status it leads to, event)
TRANSITIONS = {
    "contact": (("new",), "contacted", ev.LeadContacted),
    "qualify": (("new", "contacted"), "qualified", ev.LeadQualified),
    "lose": (OPEN, "lost", ev.LeadLost),
}


def label(mapping: dict, code: str | None) -> str:
    """The translated label of a code; never the raw code (an unknown one shows as a dash)."""
    return str(mapping[code]) if code in mapping else "—"


def new_secret() -> str:
    return "lcsec_" + secrets.token_urlsafe(32)


# reading


def visible(user, query):
    """Leads `user` may see: everything for HQ roles; else their own and their stores' leads."""
    if user is None or user.sees_all_stores:
        return query
    return query.where(or_(Lead.owner_id == user.id, Lead.store_id.in_(user.store_ids)))


def get_lead(user, lead_id) -> Lead | None:
    """The lead with this id if `user` may see it (HQ roles: all; others: their own and their stores'); `user` None:
    any lead of the tenant. None otherwise, like an id that does not exist."""
    lead = get_scoped(Lead, lead_id)
    if lead is None:
        return None
    if user is None or user.sees_all_stores or lead.owner_id == user.id or lead.store_id in user.store_ids:
        return lead
    return None


def list_leads(user, *, status=None, channel_id=None, campaign_id=None, owner_id=None, store_id=None, q=None,
               overdue=False, after_id=None, limit=50) -> list[Lead]:
    """Newest first, paged by keyset (`after_id` = the last id of the previous page)."""
    query = visible(user, select(Lead))
    for column, value in ((Lead.status, status), (Lead.channel_id, channel_id), (Lead.campaign_id, campaign_id),
                          (Lead.owner_id, owner_id), (Lead.store_id, store_id)):
        if value is not None:
            query = query.where(column == value)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Lead.name.ilike(pattern), Lead.mobile.like(pattern), Lead.interest.ilike(pattern)))
    if overdue:
        query = query.where(_overdue_clause(utcnow()))
    return list(db.session.scalars(keyset_page(query, Lead, Lead.id, True, after_id).limit(limit)))


def _overdue_clause(now: datetime):
    return and_(Lead.status.in_(OPEN), Lead.first_contacted_at.is_(None), Lead.first_contact_deadline < now)


def my_leads(user, *, limit: int = 200) -> list[Lead]:
    """The user's open leads: overdue first contacts on top, then by first-contact deadline, then newest."""
    now = utcnow()
    overdue = case((_overdue_clause(now), 0), else_=1)
    return list(db.session.scalars(select(Lead).where(Lead.owner_id == user.id, Lead.status.in_(OPEN))
                                   .order_by(overdue, Lead.first_contact_deadline.asc().nulls_last(), Lead.id.desc())
                                   .limit(limit)))


def history_of(lead: Lead) -> list[LeadHistory]:
    return list(db.session.scalars(select(LeadHistory).where(LeadHistory.lead_id == lead.id)
                                   .order_by(LeadHistory.at.desc(), LeadHistory.id.desc())))


def leads_of_customer(customer_id: int) -> list[Lead]:
    return list(db.session.scalars(select(Lead).where(Lead.customer_id == customer_id).order_by(Lead.id.desc())))


def _history(lead: Lead, kind: str, user=None, body: str | None = None, at: datetime | None = None,
             **data) -> LeadHistory:
    entry = LeadHistory(lead_id=lead.id, kind=kind, user_id=user.id if user is not None else None, body=body,
                        data=data, at=at or utcnow())
    db.session.add(entry)
    return entry


def lead_url(lead: Lead) -> str:
    return f"{current_app.config['STORECRM'].base_url}/t/{current_tenant().slug}/leads/{lead.id}"


def _notify(person: User | None, title, lead: Lead, key: str) -> None:
    """A bell notification (and an email through the outbox) in the person's language; no mobile in it."""
    if person is None or not person.active:
        return
    with force_locale(person.locale or current_tenant_row().locale or "zh_CN"):
        text = str(title) % {"name": lead.name}
        body = " · ".join(p for p in (lead.interest, label(STATUS_LABELS, lead.status)) if p)
    notify_user(person, text, body, lead_url(lead), dedupe_key=key)


# capture


def _check_refs(channel: LeadChannel, data: dict) -> tuple[Store | None, LeadCampaign | None]:
    errors = {}
    store = None
    if data.get("store_id") is not None:
        store = get_scoped(Store, data["store_id"])
        if store is None or not store.active:
            errors["store_id"] = [_("Choose an active store.")]
    elif channel.store_id:
        store = get_scoped(Store, channel.store_id)
    campaign = None
    if data.get("campaign_id") is not None:
        campaign = get_scoped(LeadCampaign, data["campaign_id"])
        if campaign is None or (campaign.channel_id and campaign.channel_id != channel.id):
            errors["campaign_id"] = [_("Choose a campaign of this channel.")]
    if not data.get("mobile"):
        errors["mobile"] = [_("Enter a valid mobile number.")]
    if errors:
        raise ValidationError(errors)
    return store, campaign


def _open_lead_for(mobile: str) -> Lead | None:
    return db.session.scalar(select(Lead).where(Lead.mobile == mobile, Lead.status.in_(OPEN))
                             .with_for_update().execution_options(populate_existing=True))


def _customer_for(mobile: str) -> int | None:
    owner = identities.owners([("mobile", mobile)]).get(("mobile", mobile))
    customer = get_scoped(Customer, owner) if owner else None
    if customer is None or customer.deleted_at is not None or customer.merged_into_id is not None:
        return None
    return customer.id


def capture(channel: LeadChannel, data: dict, *, source: str = "staff", user=None,
            now: datetime | None = None) -> tuple[Lead, bool]:
    """Take an enquiry (CaptureSchema data: name, mobile in E.164, interest, notes, store_id, campaign_id, consent)
    from `channel`. Returns (lead, created). One-ID: when the mobile has an open lead, the enquiry is appended to
    its history, its owner is told again and `created` is False; the database's unique index decides under
    concurrency. A mobile of an existing customer links the lead to them."""
    if not channel.active:
        raise ValidationError({"channel_id": [_("This channel is switched off.")]})
    store, campaign = _check_refs(channel, data)
    now = now or utcnow()
    mobile = data["mobile"]
    existing = _open_lead_for(mobile)
    if existing is not None:
        return _repeat(existing, channel, campaign, data, source, user, now), False
    closed = _closed_lead_for(mobile)
    previous_id = None
    if closed is not None:
        existing = _open_lead_for(mobile)  # the closed lead's lock waited for a concurrent reopen: look again
        if existing is not None:
            return _repeat(existing, channel, campaign, data, source, user, now), False
        settings = lead_settings()
        if closed.status == "won" and closed.closed_at and \
                closed.closed_at > now - timedelta(days=settings.won_repeat_days):
            # bought recently: the advisor who sold it hears of the enquiry; no new sale to chase yet
            return _repeat(closed, channel, campaign, data, source, user, now), False
        if settings.repeat_mode == "reopen":
            reopened = _reopen(closed, channel, campaign, data, source, user, now)
            if reopened is not None:
                return reopened, False
            existing = _open_lead_for(mobile)
            if existing is not None:
                return _repeat(existing, channel, campaign, data, source, user, now), False
        previous_id = closed.id
    lead = Lead(name=data["name"], mobile=mobile, channel_id=channel.id,
                campaign_id=campaign.id if campaign else None, store_id=store.id if store else None,
                interest=data.get("interest"), notes=data.get("notes"), source=source, status="new",
                consent_at=now if data.get("consent") else None, enquiries=1, last_enquiry_at=now,
                customer_id=_customer_for(mobile), created_at=now, updated_at=now,
                region=(data.get("region") or (store.city if store is not None else None) or None))
    try:
        with db.session.begin_nested():
            db.session.add(lead)
            db.session.flush()
    except IntegrityError as err:
        if getattr(err.orig, "pgcode", None) != UNIQUE_VIOLATION or OPEN_MOBILE_INDEX not in str(err.orig):
            raise
        if lead in db.session:
            db.session.expunge(lead)
        existing = _open_lead_for(mobile)  # the other transaction committed it: now visible
        if existing is None:  # it was closed in between; a fresh lead is right, and the index judges again
            return capture(channel, data, source=source, user=user, now=now)
        return _repeat(existing, channel, campaign, data, source, user, now), False
    _history(lead, "captured", user, data.get("notes"), at=now, channel_id=channel.id, source=source,
             interest=data.get("interest"), campaign_id=lead.campaign_id, previous_lead_id=previous_id)
    record("create", "lead", lead.id, lead.name)
    emit(ev.LeadCaptured(lead))
    _enter(lead, now)
    _route(lead, channel, now)
    return lead, True


def _route(lead: Lead, channel: LeadChannel, now: datetime, *, keep_owner: User | None = None) -> None:
    """Assign a new (or reopened) lead by the rules and start its first-contact clock."""
    owner, rule, how = assignment.choose(lead, now)
    if keep_owner is not None:
        owner, how = keep_owner, "reopened"
    minutes = (rule.first_contact_minutes if rule and rule.first_contact_minutes else None) \
        or channel.first_contact_minutes or DEFAULT_FIRST_CONTACT_MINUTES
    lead.rule_id = rule.id if rule else None
    if owner is not None:
        _give(lead, owner, None, now, how=how)
    elif how == "pool":
        to_pool(None, lead, "rule", now=now)
    # the promise counts the store's opening hours (closures skipped): a lead at 23:00 is due after opening
    lead.first_contact_deadline = sla.deadline(get_scoped(Store, lead.store_id) if lead.store_id else None,
                                               now, minutes)
    timers.schedule(_sla_key(lead), SLA_TIMER, lead.first_contact_deadline, {"lead_id": lead.id})
    db.session.flush()


def _closed_lead_for(mobile: str) -> Lead | None:
    """The mobile's latest closed lead (won, or lost but not merged away), locked: concurrent repeat enquiries on it
    are served one after the other."""
    return db.session.scalar(select(Lead).where(Lead.mobile == mobile, Lead.status.in_(("won", "lost")),
                                                Lead.merged_into_id.is_(None))
                             .order_by(Lead.closed_at.desc().nulls_last(), Lead.id.desc()).limit(1)
                             .with_for_update().execution_options(populate_existing=True))


def _reopen(lead: Lead, channel: LeadChannel, campaign, data: dict, source: str, user, now: datetime) -> Lead | None:
    """A repeat enquiry on a closed lead: it is open again (status new, out of any pool), its former owner keeps it
    when still active (else the rules choose), and its first-contact clock starts anew. None when the database's
    one-open-lead-per-mobile index refuses (another open lead appeared meanwhile)."""
    before, reason = lead.status, lead.lost_reason
    try:
        with db.session.begin_nested():
            lead.status, lead.stage_id, lead.closed_at = "new", None, None
            lead.lost_reason = lead.lost_note = None
            lead.pooled_at = lead.pool = lead.pool_reason = None
            lead.first_contacted_at = lead.escalated_at = None
            db.session.flush()
    except IntegrityError as err:
        if getattr(err.orig, "pgcode", None) != UNIQUE_VIOLATION:
            raise
        db.session.refresh(lead)
        return None
    lead.enquiries += 1
    lead.last_enquiry_at = now
    if data.get("consent") and lead.consent_at is None:
        lead.consent_at = now
    _history(lead, "reopened", user, data.get("notes"), at=now, channel_id=channel.id, source=source,
             interest=data.get("interest"), campaign_id=campaign.id if campaign else None, name=data.get("name"),
             **{"from": before, "lost_reason": reason})
    record("update", "lead", lead.id, f"{lead.name}: {before} → new (repeat enquiry)")
    _enter(lead, now)
    former = get_scoped(User, lead.owner_id) if lead.owner_id else None
    lead.owner_id = None
    _route(lead, channel, now, keep_owner=former if former is not None and former.active else None)
    emit(ev.LeadEnquiryRepeated(lead))
    return lead


def _repeat(lead: Lead, channel: LeadChannel, campaign, data: dict, source: str, user, now: datetime) -> Lead:
    lead.enquiries += 1
    lead.last_enquiry_at = now
    if lead.customer_id is None:
        lead.customer_id = _customer_for(lead.mobile)
    if data.get("consent") and lead.consent_at is None:
        lead.consent_at = now
    _history(lead, "enquiry", user, data.get("notes"), at=now, channel_id=channel.id, source=source,
             interest=data.get("interest"), campaign_id=campaign.id if campaign else None, name=data.get("name"))
    db.session.flush()
    if lead.owner_id:
        _notify(get_scoped(User, lead.owner_id), _l("Repeat enquiry: %(name)s"), lead,
                f"lead:{lead.id}:enquiry:{lead.enquiries}")
    emit(ev.LeadEnquiryRepeated(lead))
    return lead


def _give(lead: Lead, owner: User, user, now: datetime, *, how: str, notify: bool = True) -> None:
    lead.owner_id, lead.assigned_at = owner.id, now
    lead.pooled_at = lead.pool_reason = None
    lead.pool = None
    if lead.store_id is None and not owner.sees_all_stores and owner.store_ids:
        lead.store_id = owner.store_ids[0]
    if how != "claimed":  # a claim writes its own "claimed" line and the claimer needs no bell
        _history(lead, "assigned", user, at=now, owner_id=owner.id, how=how)
    _touch(lead, now)
    if how != "claimed" and notify:
        _notify(owner, _l("New lead: %(name)s"), lead, f"lead:{lead.id}:assigned:{owner.id}:{now.isoformat()}")
    emit(ev.LeadAssigned(lead))


def create_lead(user, data: dict, *, source: str = "staff") -> tuple[Lead, bool]:
    """Staff or API: capture into channel `data["channel_id"]` as `user`."""
    channel = get_scoped(LeadChannel, data.get("channel_id"))
    if channel is None:
        raise ValidationError({"channel_id": [_("Choose one of the listed options.")]})
    if data.get("store_id") is not None and user is not None and not user.sees_all_stores \
            and data["store_id"] not in user.store_ids:
        raise ValidationError({"store_id": [_("Choose one of your stores.")]})
    return capture(channel, data, source=source, user=user)


def update_lead(user, lead: Lead, data: dict) -> Lead:
    channel = get_scoped(LeadChannel, lead.channel_id)
    if "store_id" in data or "campaign_id" in data:
        _check_refs(channel, {"mobile": lead.mobile, **{k: data.get(k) for k in ("store_id", "campaign_id")}})
    for key in ("name", "interest", "notes", "store_id", "campaign_id"):
        if key in data and (data[key] is not None or key != "name"):
            setattr(lead, key, data[key])
    record("update", "lead", lead.id, lead.name)
    db.session.flush()
    return lead


def assign(user, lead: Lead, owner_id) -> Lead:
    """Hand the lead to another active staff member by hand."""
    owner = get_scoped(User, owner_id)
    if owner is None or not owner.active:
        raise ValidationError({"owner_id": [_("Choose an active staff member.")]})
    if not lead.is_open:
        raise ValidationError({"status": [_("Only open leads can be handed over.")]})
    _give(lead, owner, user, utcnow(), how="manual")
    record("update", "lead", lead.id, f"{lead.name} → {owner.display_name}")
    return lead


# status, follow-ups, conversion


def act(user, lead: Lead, action: str, *, reason: str | None = None, note: str | None = None,
        now: datetime | None = None) -> Lead:
    """contact, qualify or lose (with a reason from LOST_REASONS); refuses what the status does not allow."""
    if action not in TRANSITIONS:
        raise ValidationError({"action": [_("Choose one of the listed options.")]})
    allowed, target, event = TRANSITIONS[action]
    if lead.status not in allowed:
        raise ValidationError({"status": [_("This cannot be done to a lead that is %(status)s.",
                                            status=label(STATUS_LABELS, lead.status))]})
    if action == "lose" and reason not in LOST_REASONS:
        raise ValidationError({"lost_reason": [_("Say why the lead was lost.")]})
    now = now or utcnow()
    before = lead.status
    lead.status = target
    lead.stage_id = None
    if lead.first_contacted_at is None and action in ("contact", "qualify"):
        lead.first_contacted_at = now
        timers.cancel(_sla_key(lead))
        if action == "qualify":
            emit(ev.LeadContacted(lead))
    if action == "qualify":
        lead.qualified_at = now
    if action == "lose":
        lead.lost_reason, lead.lost_note, lead.closed_at = reason, (note or None), now
        # into the lost pool (战败线索池) to be revisited; its last owner stays on record until someone claims it
        lead.pooled_at, lead.pool, lead.pool_reason = now, "lost", None
        timers.cancel(_sla_key(lead))
        timers.cancel(_pool_key(lead))
    _enter(lead, now)
    _history(lead, "status", user, note, at=now, **{"from": before, "to": target})
    record("update", "lead", lead.id, f"{before} → {target}")
    db.session.flush()
    emit(event(lead))
    return lead


CONTACT_METHODS = ("call", "wechat", "visit", "sms")


def follow_up(user, lead: Lead, data: dict, *, now: datetime | None = None) -> LeadHistory:
    """A follow-up (跟进记录): method, summary, optional next step with a due time (a task with a reminder for the
    lead's owner). A call, WeChat, visit or SMS on a new lead is its first contact."""
    now = now or utcnow()
    entry = _history(lead, "follow_up", user, data["summary"], at=now, method=data["method"],
                     next_step=data.get("next_step"),
                     due_at=data["due_at"].isoformat() if data.get("due_at") else None)
    db.session.flush()
    if data.get("next_step"):
        if data.get("due_at") is None:
            raise ValidationError({"due_at": [_("Give the next step a due time.")]})
        task = create_task(user, {"title": data["next_step"], "due_at": data["due_at"], "remind_at": data["due_at"],
                                  "assignee_id": lead.owner_id or user.id, "customer_id": lead.customer_id,
                                  "notes": data["summary"]}, related=("lead", lead.id))
        entry.data = {**entry.data, "task_id": task.id}
    if lead.owner_id is not None and lead.is_open:
        _touch(lead, now)
    if data["method"] in CONTACT_METHODS and lead.status == "new":
        act(user, lead, "contact", now=now)
    return entry


def _store_for_customer(user, lead: Lead) -> int | None:
    if lead.store_id:
        return lead.store_id
    channel = get_scoped(LeadChannel, lead.channel_id)
    if channel is not None and channel.store_id:
        return channel.store_id
    stores = stores_visible_to(user)
    return stores[0].id if stores else None


def _interests(lead: Lead) -> list[str]:
    """What the person asked about, first enquiry first, each once (the lead's interest and its repeat enquiries)."""
    seen: list[str] = []
    for entry in reversed(history_of(lead)):
        value = (entry.data or {}).get("interest") if entry.kind in ("captured", "enquiry") else None
        if value and value.strip() and value.strip() not in seen:
            seen.append(value.strip())
    if lead.interest and lead.interest.strip() not in seen:
        seen.insert(0, lead.interest.strip())
    return seen[:20]


def _quote_line(interest: str) -> dict:
    """A catalog item of that name or SKU (priced by the catalog), else a free-text line at 0 to be priced."""

    item = db.session.scalar(select(CatalogItem).where(
        CatalogItem.active.is_(True), or_(func.lower(CatalogItem.name) == interest.lower(),
                                          CatalogItem.sku == interest)).order_by(CatalogItem.id).limit(1))
    if item is not None:
        return {"item_id": item.id}
    return {"description": interest[:300], "unit_price": Decimal(0)}


def _asset_for(user, customer: Customer, lead: Lead, data: dict):
    """The asset of interest (the car): one of the customer's assets carrying the same VIN or plate (One-ID), else
    a new one through the assets service."""

    identifiers = {k: v for k, v in (data.get("identifiers") or {}).items() if v}
    for kind, raw in identifiers.items():
        try:
            value = identities.normalize(kind, raw)
        except ValidationError:
            continue
        found = db.session.scalar(select(CustomerIdentity).where(
            CustomerIdentity.kind == kind, CustomerIdentity.value == value,
            CustomerIdentity.customer_id == customer.id, CustomerIdentity.asset_id.is_not(None)))
        if found is not None:
            asset = get_scoped(Asset, found.asset_id)
            if asset is not None and asset.deleted_at is None:
                return asset
    name = (data.get("name") or lead.interest or "").strip()
    if not name:
        raise ValidationError({"asset.name": [_("Name the vehicle or product.")]})
    payload = {"type": data.get("type") or "vehicle", "name": name[:120], "identifiers": identifiers,
               "store_id": customer.store_id, "attributes": {"model": (lead.interest or name)[:60]}}
    try:
        return create_asset(user, customer, payload)
    except ValidationError as err:
        raise ValidationError({f"asset.{k}": v for k, v in err.messages.items()}) from None


def convert(user, lead: Lead, *, asset: dict | None = None, quote: bool = False,
            now: datetime | None = None) -> Customer:
    """Win the lead and make what the sale needs, through the customers, assets and sales services: its customer
    (One-ID by mobile, else a new one), optionally the asset of interest (`asset`: name, type, identifiers; linked by
    VIN/plate when the customer already has it) and a draft quote whose lines are the lead's interests. The lead
    keeps links to all three; its history records them. Nothing is written when any part is refused."""
    if not lead.is_open:
        raise ValidationError({"status": [_("This cannot be done to a lead that is %(status)s.",
                                            status=label(STATUS_LABELS, lead.status))]})
    now = now or utcnow()
    with db.session.begin_nested():  # all or nothing: a refused asset or quote leaves no customer behind
        customer = get_scoped(Customer, lead.customer_id or _customer_for(lead.mobile))
        if customer is None or customer.deleted_at is not None:
            customer = create_customer(user, {"name": lead.name, "mobile": lead.mobile,
                                              "store_id": _store_for_customer(user, lead),
                                              "owner_id": lead.owner_id, "source": "lead"})
        made_asset = _asset_for(user, customer, lead, asset) if asset is not None else None
        made_quote = None
        if quote:

            try:
                made_quote = create_quote(user, {
                    "customer_id": customer.id, "store_id": customer.store_id or _store_for_customer(user, lead),
                    "asset_id": made_asset.id if made_asset is not None else None, "source_type": "lead",
                    "source_id": lead.id, "notes": _("From lead %(name)s", name=lead.name),
                    "lines": [_quote_line(i) for i in _interests(lead)]})
            except ValidationError as err:
                raise ValidationError({f"quote.{k}": v for k, v in err.messages.items()}) from None
    before = lead.status
    lead.customer_id = customer.id
    lead.asset_id = made_asset.id if made_asset is not None else lead.asset_id
    lead.quote_id = made_quote.id if made_quote is not None else lead.quote_id
    lead.status, lead.closed_at, lead.stage_id = "won", now, None
    if lead.pooled_at is not None:  # converted straight from the pool: the converter owns it
        lead.pooled_at = lead.pool_reason = lead.pool = None
        lead.owner_id = lead.owner_id or getattr(user, "id", None)
    _enter(lead, now)
    if lead.first_contacted_at is None:
        lead.first_contacted_at = now
    timers.cancel(_sla_key(lead))
    timers.cancel(_pool_key(lead))
    _history(lead, "converted", user, at=now, customer_id=customer.id, asset_id=lead.asset_id,
             quote_id=lead.quote_id, quote_number=made_quote.number if made_quote is not None else None,
             **{"from": before, "to": "won"})
    record("update", "lead", lead.id, f"{before} → won (customer #{customer.id})")
    db.session.flush()
    emit(ev.LeadConverted(lead))
    return customer


# stages and time in stage


def _enter(lead: Lead, now: datetime) -> None:
    """The lead enters its current step (status, and tenant stage if any): close the open visit, open a new one."""
    if lead.stage_entered_at is not None:  # a fresh lead has no visit to close yet
        db.session.execute(update(LeadStageVisit).where(LeadStageVisit.lead_id == lead.id,
                                                        LeadStageVisit.left_at.is_(None))
                           .values(left_at=now).execution_options(synchronize_session=False))
    db.session.add(LeadStageVisit(lead_id=lead.id, status=lead.status, stage_id=lead.stage_id, entered_at=now))
    lead.stage_entered_at = now


def list_stages(active_only: bool = False) -> list[LeadStage]:
    query = select(LeadStage).order_by(LeadStage.position, LeadStage.id)
    if active_only:
        query = query.where(LeadStage.active.is_(True))
    return list(db.session.scalars(query))


def save_stage(stage: LeadStage | None, data: dict) -> LeadStage:
    """Create or change a tenant stage (name, position, active); names are unique."""
    created = stage is None
    stage = stage or LeadStage()
    for key in ("name", "position", "active"):
        if key in data and data[key] is not None:
            setattr(stage, key, data[key])
    try:
        with db.session.begin_nested():
            db.session.add(stage)
            db.session.flush()
    except IntegrityError:
        raise ValidationError({"name": [_("This name is already taken.")]}) from None
    record("create" if created else "update", "lead_stage", stage.id, stage.name)
    return stage


def pipeline_steps() -> list[tuple[str, str]]:
    """The board's columns in order: (key, label) — new, contacted, qualified, the tenant's stages, won."""
    steps = [(s, label(STATUS_LABELS, s)) for s in ("new", "contacted", "qualified")]
    steps += [(f"stage:{st.id}", st.name) for st in list_stages(active_only=True)]
    return steps + [("won", label(STATUS_LABELS, "won"))]


def step_of(lead: Lead) -> str:
    return f"stage:{lead.stage_id}" if lead.stage_id and lead.status == "qualified" else lead.status


def move_to_stage(user, lead: Lead, stage_id, *, now: datetime | None = None) -> Lead:
    """Put an open lead into one of the tenant's stages (已邀约, 已试驾 …). Its status becomes "qualified"; a lead
    nobody had contacted yet counts as contacted now (its first-contact timer stops)."""
    stage = get_scoped(LeadStage, stage_id)
    if stage is None or not stage.active:
        raise ValidationError({"stage_id": [_("Choose one of the listed options.")]})
    if not lead.is_open:
        raise ValidationError({"status": [_("This cannot be done to a lead that is %(status)s.",
                                            status=label(STATUS_LABELS, lead.status))]})
    if lead.stage_id == stage.id:
        return lead
    now = now or utcnow()
    before_status, before_stage = lead.status, lead.stage_id
    if lead.first_contacted_at is None:
        lead.first_contacted_at = now
        timers.cancel(_sla_key(lead))
    if lead.qualified_at is None:
        lead.qualified_at = now
    lead.status, lead.stage_id = "qualified", stage.id
    _enter(lead, now)
    _history(lead, "stage", user, at=now, from_status=before_status, from_stage_id=before_stage, stage_id=stage.id,
             stage=stage.name)
    record("update", "lead", lead.id, f"{lead.name} → {stage.name}")
    db.session.flush()
    if before_status != "qualified":
        emit(ev.LeadQualified(lead))
    return lead


def move(user, lead: Lead, step: str, *, now: datetime | None = None) -> Lead:
    """The board's drag and drop: put the lead into column `step` (a key of pipeline_steps()). Forward moves only;
    won needs the conversion and lost a reason, both on the lead's page, so a drop there is refused with a message."""
    if step == step_of(lead):
        return lead
    if step == "won":
        raise ValidationError({"step": [_("Open the lead to convert it: a win needs the customer's details.")]})
    if step == "lost":
        raise ValidationError({"step": [_("Open the lead to mark it lost: a loss needs a reason.")]})
    if not lead.is_open:
        raise ValidationError({"step": [_("This cannot be done to a lead that is %(status)s.",
                                          status=label(STATUS_LABELS, lead.status))]})
    if step.startswith("stage:"):
        try:
            stage_id = int(step.split(":", 1)[1])
        except ValueError:
            raise ValidationError({"step": [_("Choose one of the listed options.")]}) from None
        return move_to_stage(user, lead, stage_id, now=now)
    if step == "contacted" and lead.status == "new":
        return act(user, lead, "contact", now=now)
    if step == "qualified" and lead.status in ("new", "contacted"):
        return act(user, lead, "qualify", now=now)
    raise ValidationError({"step": [_("A lead cannot move back in the pipeline.")]})


def time_in_stage(lead: Lead, now: datetime | None = None) -> timedelta | None:
    if lead.stage_entered_at is None or not lead.is_open:
        return None
    return (now or utcnow()) - lead.stage_entered_at


# public pool (公海)


def lead_settings() -> LeadSettings:
    """The tenant's settings row, or the defaults (not stored) when there is none."""
    row = db.session.scalar(select(LeadSettings))
    return row or LeadSettings(pool_after_hours=DEFAULT_POOL_AFTER_HOURS, claims_per_day=DEFAULT_CLAIMS_PER_DAY,
                               repeat_mode="reopen", won_repeat_days=DEFAULT_WON_REPEAT_DAYS)


def save_settings(data: dict) -> LeadSettings:
    row = db.session.scalar(select(LeadSettings)) or LeadSettings(pool_after_hours=DEFAULT_POOL_AFTER_HOURS,
                                                                  claims_per_day=DEFAULT_CLAIMS_PER_DAY,
                                                                  repeat_mode="reopen",
                                                                  won_repeat_days=DEFAULT_WON_REPEAT_DAYS)
    for key in ("pool_after_hours", "claims_per_day", "repeat_mode", "won_repeat_days"):
        if data.get(key) is not None:
            setattr(row, key, data[key])
    db.session.add(row)
    db.session.flush()
    record("update", "lead_settings", row.id, f"pool {row.pool_after_hours} h, {row.claims_per_day} claims/day, "
                                              f"repeat {row.repeat_mode}, won {row.won_repeat_days} d")
    return row


def _pool_key(lead: Lead) -> str:
    return f"lead:{lead.id}:pool"


def pool_due(lead: Lead, since: datetime) -> datetime:
    """When a lead untouched since `since` returns to the pool: the tenant's hours counted in the store's opening
    hours with its closures skipped (the first-contact SLA's clock), so a weekend or holiday does not eat them."""
    store = get_scoped(Store, lead.store_id) if lead.store_id else None
    return sla.deadline(store, since, lead_settings().pool_after_hours * 60)


def _touch(lead: Lead, now: datetime) -> None:
    """The owner did something (got it, claimed it, followed it up): the pool clock starts again."""
    lead.touched_at = now
    db.session.flush()
    timers.schedule(_pool_key(lead), POOL_TIMER, pool_due(lead, now), {"lead_id": lead.id})


def to_pool(user, lead: Lead, reason: str, *, note: str | None = None, now: datetime | None = None) -> Lead:
    """Give an open lead back to the public pool: no owner, `pooled_at` now, the reason kept in its history. Staff
    give a reason from STAFF_POOL_REASONS; the timer uses "not_followed_up"."""
    allowed = STAFF_POOL_REASONS if user is not None else POOL_REASONS
    if reason not in allowed:
        raise ValidationError({"reason": [_("Say why the lead goes back to the pool.")]})
    if not lead.is_open:
        raise ValidationError({"status": [_("This cannot be done to a lead that is %(status)s.",
                                            status=label(STATUS_LABELS, lead.status))]})
    if lead.pooled_at is not None:
        raise ValidationError({"lead_id": [_("This lead is already in the public pool.")]})
    now = now or utcnow()
    before = lead.owner_id
    lead.owner_id, lead.pooled_at, lead.pool_reason, lead.pool = None, now, reason, "open"
    timers.cancel(_pool_key(lead))
    _history(lead, "pooled", user, note, at=now, reason=reason, owner_id=before)
    record("update", "lead", lead.id, f"{lead.name} → pool ({reason})")
    db.session.flush()
    return lead


def _day_start(now: datetime) -> datetime:
    return day_bounds(now.astimezone(tenant_zone()).date(), tenant_zone())[0]


def claims_today(user, now: datetime | None = None) -> int:
    now = now or utcnow()
    return db.session.scalar(select(func.count()).select_from(LeadHistory).where(
        LeadHistory.kind == "claimed", LeadHistory.user_id == user.id, LeadHistory.at >= _day_start(now)))


def claim(user, lead: Lead, *, now: datetime | None = None) -> Lead:
    """Take a lead from the pool. Two people claiming one lead at once: the row lock serialises them and the second
    finds it taken. One person's claims are serialised by an advisory lock, so the daily limit holds under
    concurrency too."""
    now = now or utcnow()
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                       {"k": f"lead-claims:{lead.tenant_id}:{user.id}"})
    locked = db.session.execute(select(Lead).where(Lead.id == lead.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.pooled_at is None or not (locked.is_open or locked.pool == "lost"):
        raise ValidationError({"lead_id": [_("Somebody else has just claimed this lead.")]})
    limit = lead_settings().claims_per_day
    if claims_today(user, now) >= limit:
        raise ValidationError({"lead_id": [_("You have claimed %(n)s leads today, the daily limit.", n=limit)]})
    pool, reason = locked.pool, locked.pool_reason or locked.lost_reason
    if pool == "lost":
        _reactivate(user, locked, now)
    _history(locked, "claimed", user, at=now, reason=reason, pool=pool)
    _give(locked, user, user, now, how="claimed")
    record("update", "lead", locked.id, f"{locked.name}: claimed by {user.display_name}")
    return locked


def _reactivate(user, lead: Lead, now: datetime) -> None:
    """A lost lead claimed from the lost pool is worked again: open (contacted when it had been, else new). Refused
    when the mobile already has another open lead (one open lead per mobile)."""
    if _open_lead_for(lead.mobile) is not None:
        raise ValidationError({"lead_id": [_("This mobile already has an open lead; merge the two instead.")]})
    before = lead.lost_reason
    lead.status = "contacted" if lead.first_contacted_at else "new"
    lead.closed_at, lead.lost_reason, lead.lost_note, lead.stage_id = None, None, None, None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # an open lead of this mobile was committed meanwhile
        raise ValidationError({"lead_id": [_("This mobile already has an open lead; merge the two instead.")]}) \
            from None
    _enter(lead, now)
    _history(lead, "reopened", user, at=now, **{"from": "lost", "lost_reason": before, "pool": "lost"})


def pool_leads(user, *, pool: str = "open", after_id=None, limit: int = 50) -> list[Lead]:
    """Leads waiting in a pool ("open": open leads without owner; "lost": lost leads to revisit) that `user` may
    see, by id for keyset paging."""
    statuses = OPEN if pool == "open" else ("lost",)
    query = select(Lead).where(Lead.pooled_at.is_not(None), Lead.pool == pool, Lead.status.in_(statuses))
    if user is not None and not user.sees_all_stores:  # the same leads get_lead lets them open and claim
        query = query.where(Lead.store_id.in_(user.store_ids))
    return list(db.session.scalars(keyset_page(query, Lead, Lead.id, False, after_id).limit(limit)))


@timers.handler(POOL_TIMER)
def return_unfollowed(timer) -> None:
    """The owner did not follow the lead up within the tenant's hours: back to the pool (history says why)."""
    lead = get_scoped(Lead, timer.payload.get("lead_id"))
    if lead is None or not lead.is_open or lead.owner_id is None or lead.pooled_at is not None:
        return
    now = utcnow()
    due = pool_due(lead, lead.touched_at or lead.assigned_at or lead.created_at)
    if due > now + timedelta(seconds=1):  # touched since the timer was set: it was moved; nothing to do now
        return
    owner = get_scoped(User, lead.owner_id)
    to_pool(None, lead, "not_followed_up", now=now)
    if owner is not None:
        _notify(owner, _l("Returned to the public pool: %(name)s"), lead, f"{timer.key}:{now.isoformat()}")


# first-contact SLA


def _sla_key(lead: Lead) -> str:
    return f"lead:{lead.id}:first_contact"


@timers.handler(SLA_TIMER)
def escalate(timer) -> None:
    """Nobody contacted the lead in time: tell its owner and the store's managers (bell + email through the outbox),
    note it in the history and emit `LeadFirstContactOverdue` (rules and webhooks take it from there)."""
    lead = get_scoped(Lead, timer.payload.get("lead_id"))
    if lead is None or not lead.is_open or lead.first_contacted_at is not None or lead.escalated_at is not None:
        return
    now = utcnow()
    lead.escalated_at = now
    _history(lead, "escalated", None, at=now, deadline=lead.first_contact_deadline.isoformat()
             if lead.first_contact_deadline else None, owner_id=lead.owner_id)
    people = [get_scoped(User, lead.owner_id)] if lead.owner_id else []
    people += staff_with_role("manager", lead.store_id) if lead.store_id else staff_with_role("manager")
    told = set()
    for person in people:
        if person is not None and person.id not in told:
            told.add(person.id)
            _notify(person, _l("First contact overdue: %(name)s"), lead, f"{timer.key}:{person.id}")
    db.session.flush()
    emit(ev.LeadFirstContactOverdue(lead))


def customer_panel(customer) -> dict:
    """The customer page's "Leads" box: their leads, newest first."""
    return {"leads": leads_of_customer(customer.id), "lead_status_label": lambda s: label(STATUS_LABELS, s)}


def visible_customer(user, customer_id):
    return get_customer(user, customer_id)


def merge_candidates(user, lead: Lead, limit: int = 10) -> list[Lead]:
    """Likely duplicates of `lead` the user may see: same customer, same mobile, or same name; not merged yet."""
    same = [Lead.mobile == lead.mobile, Lead.name == lead.name]
    if lead.customer_id:
        same.append(Lead.customer_id == lead.customer_id)
    query = visible(user, select(Lead).where(Lead.id != lead.id, Lead.merged_into_id.is_(None), or_(*same)))
    rows = db.session.scalars(query.order_by(Lead.id.desc()).limit(limit))
    return [r for r in rows if not (r.customer_id and lead.customer_id and r.customer_id != lead.customer_id)]


def open_counts() -> dict[int, int]:
    """{owner id: open leads} of the tenant (the handover page)."""
    return dict(db.session.execute(select(Lead.owner_id, func.count()).where(
        Lead.status.in_(OPEN), Lead.owner_id.is_not(None)).group_by(Lead.owner_id)).all())


def count_open(user) -> int:
    return db.session.scalar(visible(user, select(func.count()).select_from(Lead).where(Lead.status.in_(OPEN))))


def count_overdue(user) -> int:
    return db.session.scalar(visible(user, select(func.count()).select_from(Lead).where(_overdue_clause(utcnow()))))
