"""The dealership's KPIs in the reports engine (docs/plugins/dealership.md has each definition): CSI and NPS of
the follow-up surveys, first-time-fix rate, waiting time by appointment and walk-in, complaints per 100 repair
orders, revenue per repair order (台次产值) and the parts/labour split. Every one is ONE select, so the number and
its drill-down agree; each breaks down by store and by service advisor."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, exists, func, literal, select
from sqlalchemy.orm import aliased

from storecrm.sdk import (Customer, Kpi, Store, SurveyAnswer, SurveyInvitation, SurveyResponse, User, db,
                          plugin_settings, tenant_today)

from .labels import GRIEVANCE_LABELS, LINE_KIND_LABELS
from .models import GRIEVANCES, OPEN, Complaint, RepairLine, RepairOrder
from .services import ENTITY

BY = {"store_id": _l("Store"), "advisor_id": _l("Service advisor")}
PERMISSION = "dealership.view"
Advisor = aliased(User)


def _names(query, store_col, advisor_col):
    return (query.add_columns(Store.name.label("store_id_name"), Advisor.display_name.label("advisor_id_name"))
            .outerjoin(Store, and_(Store.tenant_id == RepairOrder.tenant_id, Store.id == store_col))
            .outerjoin(Advisor, and_(Advisor.tenant_id == RepairOrder.tenant_id, Advisor.id == advisor_col)))


def delivered(scope, *columns):
    """Repair orders delivered in the period, in the viewer's stores (the base of most KPIs)."""
    query = (select(RepairOrder.id.label("id"), RepairOrder.number.label("number"),
                    Customer.name.label("customer"), RepairOrder.store_id.label("store_id"),
                    RepairOrder.advisor_id.label("advisor_id"), RepairOrder.delivered_at.label("at"), *columns)
             .join(Customer, and_(Customer.tenant_id == RepairOrder.tenant_id, Customer.id == RepairOrder.customer_id))
             .where(RepairOrder.state == "delivered", RepairOrder.delivered_at >= scope.start,
                    RepairOrder.delivered_at < scope.end, scope.stores(RepairOrder.store_id)))
    if scope.staff_id is not None:
        query = query.where(RepairOrder.advisor_id == scope.staff_id)
    return _names(query, RepairOrder.store_id, RepairOrder.advisor_id)


def fixed_first_time():
    """False when the same car came back with the same complaint category within `repeat_hours` (48) of delivery."""
    hours = int(plugin_settings("dealership")["repeat_hours"])
    again = aliased(RepairOrder)
    return ~exists(select(again.id).where(
        again.tenant_id == RepairOrder.tenant_id, again.asset_id == RepairOrder.asset_id, again.id != RepairOrder.id,
        again.complaint_category == RepairOrder.complaint_category, again.state != "cancelled",
        again.arrived_at >= RepairOrder.delivered_at,
        again.arrived_at < RepairOrder.delivered_at + timedelta(hours=hours)))


def ftfr_records(scope):
    return delivered(scope, fixed_first_time().label("fixed_first"))


def waiting_minutes():
    return cast(func.floor(func.extract("epoch", RepairOrder.delivered_at - RepairOrder.arrived_at) / 60), Integer)


def waiting(walk_in: bool):
    def records(scope):
        return delivered(scope, waiting_minutes().label("minutes")).where(RepairOrder.walk_in.is_(walk_in))
    return records


def complaints_per_100(scope):
    per_order = select(func.count()).select_from(Complaint).where(
        Complaint.tenant_id == RepairOrder.tenant_id, Complaint.repair_order_id == RepairOrder.id).scalar_subquery()
    return delivered(scope, (per_order * 100).label("per_100"))


def revenue_per_order(scope):
    return delivered(scope, (RepairOrder.labour_total + RepairOrder.parts_total).label("revenue"))


def revenue_lines(scope):
    """Every service item of the orders delivered in the period: its amount, kind (parts/labour) and payer."""
    kind_name = case(*[(RepairLine.kind == code, literal(str(word))) for code, word in LINE_KIND_LABELS.items()],
                     else_=literal(""))
    query = (select(RepairLine.id.label("id"), RepairOrder.number.label("number"),
                    RepairLine.description.label("description"), RepairLine.kind.label("kind"),
                    kind_name.label("kind_name"), RepairLine.amount.label("amount"),
                    RepairOrder.store_id.label("store_id"), RepairOrder.advisor_id.label("advisor_id"),
                    RepairOrder.delivered_at.label("at"))
             .join(RepairOrder, and_(RepairOrder.tenant_id == RepairLine.tenant_id,
                                     RepairOrder.id == RepairLine.repair_order_id))
             .where(RepairOrder.state == "delivered", RepairOrder.delivered_at >= scope.start,
                    RepairOrder.delivered_at < scope.end, scope.stores(RepairOrder.store_id)))
    if scope.staff_id is not None:
        query = query.where(RepairOrder.advisor_id == scope.staff_id)
    return _names(query, RepairOrder.store_id, RepairOrder.advisor_id)


def _survey_rows(scope, kind):
    """Answers (CSAT: one row per dimension) to the follow-up surveys of repair orders, answered in the period."""
    base = (select(SurveyResponse.id.label("response_id"), SurveyResponse.score.label("score"),
                   SurveyResponse.submitted_at.label("at"), RepairOrder.number.label("number"),
                   Customer.name.label("customer"), RepairOrder.store_id.label("store_id"),
                   RepairOrder.advisor_id.label("advisor_id"))
            .join(SurveyInvitation, and_(SurveyInvitation.tenant_id == SurveyResponse.tenant_id,
                                         SurveyInvitation.id == SurveyResponse.invitation_id))
            .join(RepairOrder, and_(RepairOrder.tenant_id == SurveyInvitation.tenant_id,
                                    RepairOrder.id == SurveyInvitation.related_id))
            .join(Customer, and_(Customer.tenant_id == RepairOrder.tenant_id, Customer.id == RepairOrder.customer_id))
            .where(SurveyInvitation.related_type == ENTITY, SurveyResponse.kind == kind,
                   SurveyResponse.submitted_at >= scope.start, SurveyResponse.submitted_at < scope.end,
                   scope.stores(RepairOrder.store_id)))
    if scope.staff_id is not None:
        base = base.where(RepairOrder.advisor_id == scope.staff_id)
    return base


def csi_records(scope):
    rows = _survey_rows(scope, "csat").with_only_columns(
        SurveyAnswer.id.label("id"), RepairOrder.number.label("number"), Customer.name.label("customer"),
        SurveyAnswer.question.label("dimension"), SurveyAnswer.label.label("dimension_name"),
        SurveyAnswer.score.label("score"), RepairOrder.store_id.label("store_id"),
        RepairOrder.advisor_id.label("advisor_id"), SurveyResponse.submitted_at.label("at"))
    rows = rows.join(SurveyAnswer, and_(SurveyAnswer.tenant_id == SurveyResponse.tenant_id,
                                        SurveyAnswer.response_id == SurveyResponse.id))
    return _names(rows, RepairOrder.store_id, RepairOrder.advisor_id)


def nps_records(scope):
    rows = _survey_rows(scope, "nps").with_only_columns(
        SurveyResponse.id.label("id"), RepairOrder.number.label("number"), Customer.name.label("customer"),
        SurveyResponse.score.label("score"), RepairOrder.store_id.label("store_id"),
        RepairOrder.advisor_id.label("advisor_id"), SurveyResponse.submitted_at.label("at"))
    return _names(rows, RepairOrder.store_id, RepairOrder.advisor_id)


ORDER_COLUMNS = {"number": _l("Repair order"), "customer": _l("Customer"), "store_id_name": _l("Store"),
                 "advisor_id_name": _l("Service advisor"), "at": _l("Delivered")}


def _link(row):
    return f"/dealership/{row['id']}"


def kpis() -> list[Kpi]:
    return [
        Kpi("dealership.csi", _l("After-sales CSI"),
            _l("Average 1–5 score of the follow-up survey 24 hours after delivery, over its four dimensions "
               "(service advisor, repair quality, waiting time, facilities), answered in the period."),
            permission=PERMISSION, records=csi_records, measure="avg:score", unit="score", filters=("store", "staff"),
            columns={"number": _l("Repair order"), "customer": _l("Customer"), "dimension_name": _l("Dimension"),
                     "score": _l("Score"), "at": _l("Answered")},
            group_by={**BY, "dimension": _l("Dimension")}),
        Kpi("dealership.nps", _l("After-sales NPS"),
            _l("Share of promoters (9–10) minus share of detractors (0–6) among the follow-up answers of the "
               "period."),
            permission=PERMISSION, records=nps_records, measure="nps:score", unit="score",
            filters=("store", "staff"),
            columns={"number": _l("Repair order"), "customer": _l("Customer"), "score": _l("Score"),
                     "at": _l("Answered")}, group_by=BY),
        Kpi("dealership.ftfr", _l("First-time fix rate"),
            _l("Share of the repair orders delivered in the period whose car did not come back with a complaint of "
               "the same category within 48 hours of delivery."),
            permission=PERMISSION, records=ftfr_records, measure="rate:fixed_first", unit="%",
            filters=("store", "staff"), columns=ORDER_COLUMNS, group_by=BY, link=_link),
        Kpi("dealership.wait_appointment", _l("Waiting time, appointments (minutes)"),
            _l("Average minutes from arrival to delivery of the cars that came with an appointment, delivered in "
               "the period."),
            permission=PERMISSION, records=waiting(False), measure="avg:minutes", filters=("store", "staff"),
            columns={**ORDER_COLUMNS, "minutes": _l("Minutes")}, group_by=BY, higher_is_better=False, link=_link),
        Kpi("dealership.wait_walk_in", _l("Waiting time, walk-ins (minutes)"),
            _l("Average minutes from arrival to delivery of the cars that came without an appointment, delivered in "
               "the period."),
            permission=PERMISSION, records=waiting(True), measure="avg:minutes", filters=("store", "staff"),
            columns={**ORDER_COLUMNS, "minutes": _l("Minutes")}, group_by=BY, higher_is_better=False, link=_link),
        Kpi("dealership.complaint_rate", _l("Complaints per 100 repair orders"),
            _l("Complaints recorded against the repair orders delivered in the period, per 100 of those orders."),
            permission=PERMISSION, records=complaints_per_100, measure="avg:per_100", filters=("store", "staff"),
            columns={**ORDER_COLUMNS, "per_100": _l("Complaints × 100")}, group_by=BY, higher_is_better=False,
            link=_link),
        Kpi("dealership.revenue_per_order", _l("Revenue per repair order"),
            _l("Average labour and parts amount (every payer) of the repair orders delivered in the period "
               "(台次产值)."),
            permission=PERMISSION, records=revenue_per_order, measure="avg:revenue", unit="money",
            filters=("store", "staff"), columns={**ORDER_COLUMNS, "revenue": _l("Amount")}, group_by=BY,
            link=_link),
        Kpi("dealership.revenue", _l("After-sales revenue"),
            _l("Labour and parts amounts (every payer) of the repair orders delivered in the period; break it down "
               "by kind for the parts/labour split."),
            permission=PERMISSION, records=revenue_lines, measure="sum:amount", unit="money",
            filters=("store", "staff"),
            columns={"number": _l("Repair order"), "description": _l("Item"), "kind_name": _l("Kind"),
                     "amount": _l("Amount"), "at": _l("Delivered")},
            group_by={**BY, "kind": _l("Parts / labour")}),
    ]


def complaint_rate_by_category(scope) -> list[tuple[str, str, object]]:
    """[(category, label, complaints per 100 repair orders delivered in the scope)], every category listed."""
    orders = delivered(scope).subquery()
    total = db.session.scalar(select(func.count()).select_from(orders)) or 0
    counts = dict(db.session.execute(select(Complaint.category, func.count()).where(
        Complaint.repair_order_id.in_(select(orders.c.id))).group_by(Complaint.category)).all())
    out = []
    for code in GRIEVANCES:
        rate = None if not total else round(counts.get(code, 0) * 100 / total, 1)
        out.append((code, str(GRIEVANCE_LABELS[code]), rate))
    return out


def workshop_widget(user):
    """The home-page card: open repair orders by state in the user's stores."""
    query = select(RepairOrder.state, func.count()).where(RepairOrder.state.in_(OPEN)).group_by(RepairOrder.state)
    if not user.sees_all_stores:
        query = query.where(RepairOrder.store_id.in_(user.store_ids or [-1]))
    counts = dict(db.session.execute(query).all())
    return {"counts": counts, "today": tenant_today()}

