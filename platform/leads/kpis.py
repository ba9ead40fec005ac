"""Leads KPIs for the reports engine (docs/reports.md): each is one SELECT of the leads it counts, so the value and
the drill-down list are the same rows. Broken down by channel, person (the advisor leaderboard) and store.

Periods count leads by when they were captured (tenant time zone); staff is the lead's owner; merged-away leads
are left out (their enquiries live on in the lead they were merged into)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, extract, func, or_, select
from sqlalchemy.orm import aliased

from ..hooks.contrib import Kpi
from ..stores.models import Store
from ..tenancy.models import utcnow
from ..users.models import User
from ..sales.models import SalesDocument
from .models import Lead, LeadChannel, LeadHistory

COLUMNS = {"id": _l("ID"), "name": _l("Name"), "channel_id": _l("Channel"), "owner_id": _l("Owner"),
           "store_id": _l("Store"), "at": _l("Captured")}
BY = {"channel_id": _l("Channel"), "owner_id": _l("Staff member"), "store_id": _l("Store")}
MANAGERS = ("manager",)  # the owner sees every KPI; advisors add these to their dashboards themselves


def _link(row) -> str:
    return f"/leads/{row['id']}"


def _leads(scope, at=Lead.created_at):
    """The leads of the period by `at` (captured, or closed for deals), as the viewer may see them."""
    owner = aliased(User)
    query = (select(Lead.id.label("id"), Lead.name.label("name"), Lead.channel_id.label("channel_id"),
                    LeadChannel.name.label("channel_id_name"), Lead.owner_id.label("owner_id"),
                    owner.display_name.label("owner_id_name"), Lead.store_id.label("store_id"),
                    Store.name.label("store_id_name"), at.label("at"))
             .join(LeadChannel, and_(LeadChannel.tenant_id == Lead.tenant_id, LeadChannel.id == Lead.channel_id))
             .outerjoin(owner, and_(owner.tenant_id == Lead.tenant_id, owner.id == Lead.owner_id))
             .outerjoin(Store, and_(Store.tenant_id == Lead.tenant_id, Store.id == Lead.store_id))
             .where(at >= scope.start, at < scope.end, Lead.merged_into_id.is_(None)))
    if not scope.user.sees_all_stores:  # as the leads list: their stores' leads and their own
        query = query.where(or_(Lead.store_id.in_(scope.user.store_ids or [-1]), Lead.owner_id == scope.user.id))
    if scope.store_id is not None:
        query = query.where(Lead.store_id == scope.store_id)
    if scope.staff_id is not None:
        query = query.where(Lead.owner_id == scope.staff_id)
    return query


def captured(scope):
    return _leads(scope)


def contacted(scope):
    """Every captured lead, with whether it was contacted (the leaderboard's contact rate)."""
    return _leads(scope).add_columns((Lead.first_contacted_at.is_not(None)).label("contacted"))


def won(scope):
    return _leads(scope).add_columns((Lead.status == "won").label("won"))


def first_response(scope):
    """Contacted leads with their minutes from capture to first contact."""
    minutes = extract("epoch", Lead.first_contacted_at - Lead.created_at) / 60
    return _leads(scope).add_columns(func.round(minutes, 1).label("minutes")) \
        .where(Lead.first_contacted_at.is_not(None))


def sla_breaches(scope):
    """Leads whose first-contact deadline has passed or who were contacted (the outcome is known), with whether the
    promise was broken: contacted after the deadline, or not contacted and the deadline is behind us."""
    now = utcnow()
    breached = case((Lead.first_contacted_at.is_not(None), Lead.first_contacted_at > Lead.first_contact_deadline),
                    else_=Lead.first_contact_deadline < now)
    return _leads(scope).add_columns(breached.label("breached"), Lead.first_contact_deadline.label("deadline")) \
        .where(Lead.first_contact_deadline.is_not(None),
               or_(Lead.first_contacted_at.is_not(None), Lead.first_contact_deadline < now))


def follow_ups(scope):
    """Follow-ups logged in the period, each with its lead; staff is who logged it (the leaderboard's activity)."""
    owner = aliased(User)
    query = (select(LeadHistory.id.label("id"), Lead.name.label("name"), Lead.channel_id.label("channel_id"),
                    LeadChannel.name.label("channel_id_name"), LeadHistory.user_id.label("owner_id"),
                    owner.display_name.label("owner_id_name"), Lead.store_id.label("store_id"),
                    Store.name.label("store_id_name"), LeadHistory.at.label("at"), Lead.id.label("lead_id"),
                    LeadHistory.data["method"].astext.label("method"))
             .join(Lead, and_(Lead.tenant_id == LeadHistory.tenant_id, Lead.id == LeadHistory.lead_id))
             .join(LeadChannel, and_(LeadChannel.tenant_id == Lead.tenant_id, LeadChannel.id == Lead.channel_id))
             .outerjoin(owner, and_(owner.tenant_id == LeadHistory.tenant_id, owner.id == LeadHistory.user_id))
             .outerjoin(Store, and_(Store.tenant_id == Lead.tenant_id, Store.id == Lead.store_id))
             .where(LeadHistory.kind == "follow_up", LeadHistory.at >= scope.start, LeadHistory.at < scope.end))
    if not scope.user.sees_all_stores:
        query = query.where(or_(Lead.store_id.in_(scope.user.store_ids or [-1]), Lead.owner_id == scope.user.id))
    if scope.store_id is not None:
        query = query.where(Lead.store_id == scope.store_id)
    if scope.staff_id is not None:
        query = query.where(LeadHistory.user_id == scope.staff_id)
    return query


def won_revenue(scope):
    """Leads won in the period with what their deal brought in: the net paid (paid − refunded) of the orders made
    from the lead's quote, so a deal counts once its customer pays."""
    paid = (select(func.coalesce(func.sum(SalesDocument.paid_total - SalesDocument.refunded_total), 0))
            .where(SalesDocument.tenant_id == Lead.tenant_id, SalesDocument.kind == "order",
                   SalesDocument.quote_id == Lead.quote_id)
            .correlate(Lead).scalar_subquery())
    return _leads(scope, at=Lead.closed_at).add_columns(paid.label("revenue")).where(Lead.status == "won")


def kpis() -> list[Kpi]:
    common = {"permission": "leads.view", "filters": ("store", "staff"), "group_by": BY, "link": _link,
              "roles": MANAGERS}
    return [
        Kpi("leads.captured", _l("Leads captured"),
            _l("Leads captured in the period (repeat enquiries not counted; merged leads left out). By person: "
               "the advisor leaderboard's lead count."),
            records=captured, columns=COLUMNS, **common),
        Kpi("leads.contact_rate", _l("Leads contacted"),
            _l("Of the leads captured in the period, the share contacted at least once."),
            records=contacted, measure="rate:contacted", unit="%", columns={**COLUMNS, "contacted": _l("Contacted")},
            **common),
        Kpi("leads.conversion_rate", _l("Lead conversion rate"),
            _l("Of the leads captured in the period, the share won (converted into a customer). Break it down by "
               "channel for conversion by channel, by person for the leaderboard."),
            records=won, measure="rate:won", unit="%", columns={**COLUMNS, "won": _l("Won")},
            **common),
        Kpi("leads.first_response_avg", _l("First response time, average (min)"),
            _l("Average minutes from capture to first contact of the period's contacted leads (clock time)."),
            records=first_response, measure="avg:minutes", columns={**COLUMNS, "minutes": _l("Minutes")},
            higher_is_better=False, **common),
        Kpi("leads.first_response_median", _l("First response time, median (min)"),
            _l("Median minutes from capture to first contact of the period's contacted leads: half were "
               "contacted faster."),
            records=first_response, measure="median:minutes", columns={**COLUMNS, "minutes": _l("Minutes")},
            higher_is_better=False, **common),
        Kpi("leads.follow_ups", _l("Lead follow-ups"),
            _l("Follow-ups logged on leads in the period (calls, WeChat, visits, SMS). By person: the leaderboard's "
               "activity, counted for who logged them."),
            records=follow_ups, columns={**COLUMNS, "owner_id": _l("Logged by"), "method": _l("Method")},
            **{**common, "link": lambda row: f"/leads/{row['lead_id']}"}),
        Kpi("leads.won_revenue", _l("Revenue from won leads"),
            _l("Net paid (paid − refunded) of the orders made from the quotes of leads won in the period. By "
               "person: the leaderboard's revenue; by channel: what each channel's deals brought in."),
            records=won_revenue, measure="sum:revenue", unit="money",
            columns={**COLUMNS, "at": _l("Won"), "revenue": _l("Revenue")}, **common),
        Kpi("leads.sla_breach_rate", _l("First-contact SLA breach rate"),
            _l("Of the period's leads whose first-contact deadline has passed or who were contacted, the share "
               "contacted late or not at all."),
            records=sla_breaches, measure="rate:breached", unit="%",
            columns={**COLUMNS, "deadline": _l("Contact by"), "breached": _l("Breached")},
            higher_is_better=False, **common),
    ]
