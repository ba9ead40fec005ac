"""Sales KPIs in the reports engine: the funnel (leads → test-driven → won), the advisor leaderboard (won leads,
test drives, contracts signed; each breaks down by advisor) and complaint rates by category. Each is ONE select of
the records it counts, so the engine's value and its drill-down list are the same rows."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from storecrm.sdk import Kpi, Lead, Store, User

from .kpis import ORDER_COLUMNS, PERMISSION, _link, delivered
from .labels import GRIEVANCE_LABELS
from .models import GRIEVANCES, Complaint, RepairOrder, TestDrive, VehicleContract

Advisor = aliased(User)
BY = {"store_id": _l("Store"), "advisor_id": _l("Sales advisor")}


def _named(query, tenant_col, store_col, advisor_col):
    return (query.add_columns(Store.name.label("store_id_name"), Advisor.display_name.label("advisor_id_name"))
            .outerjoin(Store, and_(Store.tenant_id == tenant_col, Store.id == store_col))
            .outerjoin(Advisor, and_(Advisor.tenant_id == tenant_col, Advisor.id == advisor_col)))


def _test_driven():
    return exists(select(TestDrive.id).where(TestDrive.tenant_id == Lead.tenant_id, TestDrive.lead_id == Lead.id,
                                             TestDrive.state != "cancelled"))


def leads_in(scope, *columns):
    """Leads created in the period in the viewer's stores (`staff`: the lead's owner): the funnel's cohort."""
    query = (select(Lead.id.label("id"), Lead.name.label("name"), Lead.interest.label("interest"),
                    Lead.store_id.label("store_id"), Lead.owner_id.label("advisor_id"), Lead.created_at.label("at"),
                    *columns)
             .where(Lead.created_at >= scope.start, Lead.created_at < scope.end, scope.stores(Lead.store_id)))
    if scope.staff_id is not None:
        query = query.where(Lead.owner_id == scope.staff_id)
    return _named(query, Lead.tenant_id, Lead.store_id, Lead.owner_id)


def funnel_leads(scope):
    return leads_in(scope)


def funnel_test_driven(scope):
    return leads_in(scope, _test_driven().label("test_driven"))


def funnel_won(scope):
    return leads_in(scope, (Lead.status == "won").label("won"))


def won_leads(scope):
    """Leads won in the period (by when they closed), per owning advisor: the leaderboard's sales."""
    query = (select(Lead.id.label("id"), Lead.name.label("name"), Lead.interest.label("interest"),
                    Lead.store_id.label("store_id"), Lead.owner_id.label("advisor_id"), Lead.closed_at.label("at"))
             .where(Lead.status == "won", Lead.closed_at >= scope.start, Lead.closed_at < scope.end,
                    scope.stores(Lead.store_id)))
    if scope.staff_id is not None:
        query = query.where(Lead.owner_id == scope.staff_id)
    return _named(query, Lead.tenant_id, Lead.store_id, Lead.owner_id)


def test_drives_done(scope):
    """Test drives that took place (completed) in the period, per advisor who rode along."""
    query = (select(TestDrive.id.label("id"), Lead.name.label("name"), TestDrive.model.label("interest"),
                    TestDrive.store_id.label("store_id"), TestDrive.advisor_id.label("advisor_id"),
                    TestDrive.starts_at.label("at"))
             .join(Lead, and_(Lead.tenant_id == TestDrive.tenant_id, Lead.id == TestDrive.lead_id))
             .where(TestDrive.state == "completed", TestDrive.starts_at >= scope.start,
                    TestDrive.starts_at < scope.end, scope.stores(TestDrive.store_id)))
    if scope.staff_id is not None:
        query = query.where(TestDrive.advisor_id == scope.staff_id)
    return _named(query, TestDrive.tenant_id, TestDrive.store_id, TestDrive.advisor_id)


def contracts_signed(scope):
    """Vehicle sales contracts signed in the period (and not cancelled since), with their contract price."""
    query = (select(VehicleContract.id.label("id"), VehicleContract.number.label("name"),
                    VehicleContract.model.label("interest"), VehicleContract.store_id.label("store_id"),
                    VehicleContract.advisor_id.label("advisor_id"), VehicleContract.signed_at.label("at"),
                    (VehicleContract.price - VehicleContract.discount).label("amount"))
             .where(VehicleContract.signed_at >= scope.start, VehicleContract.signed_at < scope.end,
                    VehicleContract.state != "cancelled", scope.stores(VehicleContract.store_id)))
    if scope.staff_id is not None:
        query = query.where(VehicleContract.advisor_id == scope.staff_id)
    return _named(query, VehicleContract.tenant_id, VehicleContract.store_id, VehicleContract.advisor_id)


def complaints_of(category: str):
    """Repair orders delivered in the period, each with its complaints of `category` × 100: averaged, complaints of
    that category per 100 repair orders; the drill-down lists the orders that make the denominator."""
    def records(scope):
        count = select(func.count()).select_from(Complaint).where(
            Complaint.tenant_id == RepairOrder.tenant_id, Complaint.repair_order_id == RepairOrder.id,
            Complaint.category == category).scalar_subquery()
        return delivered(scope, (count * 100).label("per_100"))
    return records


LEAD_COLUMNS = {"name": _l("Lead"), "interest": _l("Car model"), "store_id_name": _l("Store"),
                "advisor_id_name": _l("Sales advisor"), "at": _l("Created")}


def _lead_link(row):
    return f"/leads/{row['id']}"


def kpis() -> list[Kpi]:
    funnel = dict(permission=PERMISSION, filters=("store", "staff"), group_by=BY, link=_lead_link)
    board = dict(permission=PERMISSION, filters=("store", "staff"), group_by=BY)
    out = [
        Kpi("dealership.funnel_leads", _l("Sales funnel: new leads"),
            _l("Leads created in the period (the funnel's first step)."),
            records=funnel_leads, columns=LEAD_COLUMNS, **funnel),
        Kpi("dealership.funnel_test_driven", _l("Sales funnel: test-drive rate"),
            _l("Share of the leads created in the period that have a test drive booked or taken (not cancelled)."),
            records=funnel_test_driven, measure="rate:test_driven", unit="%", columns=LEAD_COLUMNS, **funnel),
        Kpi("dealership.funnel_won", _l("Sales funnel: win rate"),
            _l("Share of the leads created in the period that are won by now."),
            records=funnel_won, measure="rate:won", unit="%", columns=LEAD_COLUMNS, **funnel),
        Kpi("dealership.won_leads", _l("Leaderboard: leads won"),
            _l("Leads closed as won in the period; break down by sales advisor for the leaderboard."),
            records=won_leads, columns={**LEAD_COLUMNS, "at": _l("Won")}, link=_lead_link, **board),
        Kpi("dealership.test_drives", _l("Leaderboard: test drives taken"),
            _l("Test drives that took place in the period, by the advisor who rode along."),
            records=test_drives_done, columns={**LEAD_COLUMNS, "interest": _l("Car model"), "at": _l("Time")},
            **board),
        Kpi("dealership.contracts_signed", _l("Leaderboard: contracts signed"),
            _l("Vehicle sales contracts the customer signed in the period and not cancelled since."),
            records=contracts_signed, columns={"name": _l("Contract"), "interest": _l("Car model"),
                                               "advisor_id_name": _l("Sales advisor"), "amount": _l("Amount"),
                                               "at": _l("Signed")},
            link=lambda row: f"/dealership/contracts/{row['id']}", **board),
    ]
    for code in GRIEVANCES:
        out.append(Kpi(f"dealership.complaint_rate.{code}",
                       _l("Complaints per 100 repair orders: %(category)s", category=GRIEVANCE_LABELS[code]),
                       _l("Complaints of this category recorded against the repair orders delivered in the period, "
                          "per 100 of those orders."),
                       permission=PERMISSION, records=complaints_of(code), measure="avg:per_100",
                       filters=("store", "staff"), columns={**ORDER_COLUMNS, "per_100": _l("Complaints × 100")},
                       group_by={"store_id": _l("Store"), "advisor_id": _l("Service advisor")},
                       higher_is_better=False, link=_link))
    return out
