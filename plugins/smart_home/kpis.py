"""The smart-home KPIs in the reports engine: each is one SELECT of the records it counts (docs/reports.md)."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, exists, func, select

from storecrm.sdk import Asset, CatalogItem, Kpi, Store, SurveyInvitation, SurveyResponse, User

from .models import PartUsage, WorkOrder
from .services import REF

STORE = _l("Store")


def _engineer_name():
    return select(User.display_name).where(User.tenant_id == WorkOrder.tenant_id,
                                           User.id == WorkOrder.engineer_id).scalar_subquery()


def _model_name(column):
    return select(CatalogItem.name).where(CatalogItem.id == column).scalar_subquery()


def tickets(scope):
    return (select(WorkOrder.id.label("id"), WorkOrder.number.label("number"), WorkOrder.kind.label("kind"),
                   _labels(WorkOrder.kind, _kinds()).label("kind_name"),
                   _labels(WorkOrder.fault_type, _faults()).label("fault_type_name"),
                   WorkOrder.fault_type.label("fault_type"), WorkOrder.store_id.label("store_id"),
                   select(Store.name).where(Store.tenant_id == WorkOrder.tenant_id,
                                            Store.id == WorkOrder.store_id).scalar_subquery().label("store_id_name"),
                   WorkOrder.reported_at.label("at"))
            .where(WorkOrder.reported_at >= scope.start, WorkOrder.reported_at < scope.end,
                   scope.stores(WorkOrder.store_id)))


def first_response(scope):
    minutes = func.extract("epoch", WorkOrder.accepted_at - WorkOrder.reported_at) / 60
    return (select(WorkOrder.id.label("id"), WorkOrder.number.label("number"), func.round(minutes).label("minutes"),
                   WorkOrder.engineer_id.label("engineer_id"), _engineer_name().label("engineer_id_name"),
                   WorkOrder.accepted_at.label("at"))
            .where(WorkOrder.accepted_at.is_not(None), WorkOrder.accepted_at >= scope.start,
                   WorkOrder.accepted_at < scope.end, scope.stores(WorkOrder.store_id)))


def handling(scope):
    hours = func.extract("epoch", WorkOrder.completed_at - WorkOrder.reported_at) / 3600
    return (select(WorkOrder.id.label("id"), WorkOrder.number.label("number"), func.round(hours, 1).label("hours"),
                   WorkOrder.minutes_on_site.label("minutes_on_site"), WorkOrder.kind.label("kind"),
                   _labels(WorkOrder.kind, _kinds()).label("kind_name"),
                   WorkOrder.completed_at.label("at"))
            .where(WorkOrder.completed_at.is_not(None), WorkOrder.completed_at >= scope.start,
                   WorkOrder.completed_at < scope.end, scope.stores(WorkOrder.store_id)))


def first_time_fix(scope):
    return (select(WorkOrder.id.label("id"), WorkOrder.number.label("number"),
                   func.coalesce(WorkOrder.first_time_fix, False).label("fixed"),
                   WorkOrder.engineer_id.label("engineer_id"), _engineer_name().label("engineer_id_name"),
                   WorkOrder.completed_at.label("at"))
            .where(WorkOrder.kind == "repair", WorkOrder.completed_at.is_not(None),
                   WorkOrder.completed_at >= scope.start, WorkOrder.completed_at < scope.end,
                   scope.stores(WorkOrder.store_id)))


def csat(scope):
    return (select(SurveyResponse.id.label("id"), SurveyResponse.score.label("score"),
                   SurveyInvitation.related_id.label("work_order_id"), SurveyResponse.staff_id.label("staff_id"),
                   SurveyResponse.submitted_at.label("at"))
            .join(SurveyInvitation, and_(SurveyInvitation.tenant_id == SurveyResponse.tenant_id,
                                         SurveyInvitation.id == SurveyResponse.invitation_id))
            .where(SurveyInvitation.related_type == REF, SurveyResponse.submitted_at >= scope.start,
                   SurveyResponse.submitted_at < scope.end, scope.stores(SurveyResponse.store_id)))


def productivity(scope):
    return (select(WorkOrder.id.label("id"), WorkOrder.number.label("number"),
                   WorkOrder.engineer_id.label("engineer_id"), _engineer_name().label("engineer_id_name"),
                   WorkOrder.minutes_on_site.label("minutes_on_site"), WorkOrder.completed_at.label("at"))
            .where(WorkOrder.completed_at.is_not(None), WorkOrder.engineer_id.is_not(None),
                   WorkOrder.completed_at >= scope.start, WorkOrder.completed_at < scope.end,
                   scope.stores(WorkOrder.store_id)))


def parts(scope):
    return (select(PartUsage.id.label("id"), PartUsage.item_id.label("item_id"),
                   _model_name(PartUsage.item_id).label("item_id_name"), PartUsage.quantity.label("quantity"),
                   WorkOrder.number.label("number"), PartUsage.used_at.label("at"))
            .join(WorkOrder, and_(WorkOrder.tenant_id == PartUsage.tenant_id, WorkOrder.id == PartUsage.work_order_id))
            .where(PartUsage.used_at >= scope.start, PartUsage.used_at < scope.end, scope.stores(WorkOrder.store_id)))


def failure_rate(scope):
    """Devices (smart_device assets) installed before the period's end; `failed` when a repair was reported for
    the device in the period. Grouped by model, the rate is the failure rate of each model."""
    model_id = cast(Asset.attributes["model_item_id"].astext, Integer)
    failed = exists().where(WorkOrder.tenant_id == Asset.tenant_id, WorkOrder.asset_id == Asset.id,
                            WorkOrder.kind == "repair", WorkOrder.state != "cancelled",
                            WorkOrder.reported_at >= scope.start, WorkOrder.reported_at < scope.end)
    return (select(Asset.id.label("id"), Asset.name.label("name"), model_id.label("model_item_id"),
                   _model_name(model_id).label("model_item_id_name"), failed.label("failed"),
                   Asset.store_id.label("store_id"))
            .where(Asset.type == "smart_device", Asset.deleted_at.is_(None),
                   func.coalesce(Asset.installed_on, func.date(Asset.created_at)) < func.date(scope.end),
                   scope.stores(Asset.store_id)))


def repairs_by_fault(scope):
    return (select(WorkOrder.id.label("id"), WorkOrder.number.label("number"),
                   WorkOrder.fault_type.label("fault_type"),
                   _labels(WorkOrder.fault_type, _faults()).label("fault_type_name"),
                   WorkOrder.model_item_id.label("model_item_id"),
                   _model_name(WorkOrder.model_item_id).label("model_item_id_name"),
                   WorkOrder.reported_at.label("at"))
            .where(WorkOrder.kind == "repair", WorkOrder.state != "cancelled", WorkOrder.reported_at >= scope.start,
                   WorkOrder.reported_at < scope.end, scope.stores(WorkOrder.store_id)))


def contract_revenue(scope):
    """Contracts starting in the period (local dates of the period), with their price."""
    from .models import Contract

    return (select(Contract.id.label("id"), Contract.number.label("number"), Contract.price.label("price"),
                   Contract.store_id.label("store_id"), Contract.created_at.label("at"))
            .where(Contract.starts_on >= scope.period.first, Contract.starts_on <= scope.period.last,
                   scope.stores(Contract.store_id)))


def _labels(column, mapping):
    """The label of a stored code, in the viewer's language, so charts never show a raw code."""
    return case(*[(column == code, str(label)) for code, label in mapping.items()], else_=column)


def _kinds():
    from .models import ORDER_KINDS
    return ORDER_KINDS


def _faults():
    from .models import FAULT_TYPES
    return FAULT_TYPES


def _link(row):
    return f"/smart-home/orders/{row.id}" if getattr(row, "id", None) else None


LEADS = ("owner", "admin", "manager")  # the home page of the people who run the service; everyone finds all in Reports


def kpis():
    number, when = _l("Order number"), _l("When")
    engineer = _l("Engineer")
    return [
        Kpi("smart_home.tickets", _l("Work orders"), _l("Work orders reported in the period (all kinds)."),
            permission="smart_home.view", roles=LEADS, records=tickets, filters=("store",),
            columns={"number": number, "kind_name": _l("Type"), "fault_type_name": _l("Fault type"), "at": when},
            group_by={"store_id": STORE, "kind": _l("Type")}, link=_link),
        Kpi("smart_home.first_response", _l("Time to first response (minutes)"),
            _l("Average minutes from the report to the engineer accepting the job, for jobs accepted in the period."),
            permission="smart_home.view", roles=LEADS, records=first_response, measure="avg:minutes", filters=("store",),
            columns={"number": number, "minutes": _l("Minutes"), "engineer_id_name": engineer, "at": when},
            group_by={"engineer_id": engineer}, higher_is_better=False, link=_link),
        Kpi("smart_home.handling_time", _l("Handling time (hours)"),
            _l("Average hours from the report to completion, for work orders completed in the period."),
            permission="smart_home.view", roles=LEADS, records=handling, measure="avg:hours", filters=("store",),
            columns={"number": number, "hours": _l("Hours taken"), "minutes_on_site": _l("Minutes on site"), "at": when},
            group_by={"kind": _l("Type")}, higher_is_better=False, link=_link),
        Kpi("smart_home.first_time_fix", _l("First-time fix rate"),
            _l("Share of repairs completed in the period that were fixed at the first visit."),
            permission="smart_home.view", roles=LEADS, records=first_time_fix, measure="rate:fixed", unit="%",
            filters=("store",), columns={"number": number, "fixed": _l("Fixed first time"),
                                         "engineer_id_name": engineer, "at": when},
            group_by={"engineer_id": engineer}, link=_link),
        Kpi("smart_home.csat", _l("Service satisfaction (CSAT)"),
            _l("Average score (1–5) of the satisfaction surveys answered about work orders in the period."),
            permission="smart_home.view", roles=LEADS, records=csat, measure="avg:score", unit="score", filters=("store",),
            columns={"score": _l("Score"), "work_order_id": _l("Work order"), "at": when}),
        Kpi("smart_home.engineer_productivity", _l("Jobs completed per engineer"),
            _l("Work orders completed in the period, by engineer."), permission="smart_home.view", roles=LEADS,
            records=productivity, filters=("store",),
            columns={"number": number, "engineer_id_name": engineer, "minutes_on_site": _l("Minutes on site"),
                     "at": when}, group_by={"engineer_id": engineer}, link=_link),
        Kpi("smart_home.parts_consumption", _l("Spare parts used"),
            _l("Spare parts issued to work orders in the period (quantity), by part."), permission="smart_home.view", roles=LEADS,
            records=parts, measure="sum:quantity", filters=("store",),
            columns={"item_id_name": _l("Part"), "quantity": _l("Quantity"), "number": number, "at": when},
            group_by={"item_id": _l("Part")}),
        Kpi("smart_home.failure_rate", _l("Failure rate by device model"),
            _l("Share of installed smart devices with a repair reported in the period; by model it is each model's "
               "failure rate."), permission="smart_home.view", roles=LEADS, records=failure_rate, measure="rate:failed",
            unit="%", filters=("store",), time_column=None, higher_is_better=False,
            columns={"name": _l("Device"), "model_item_id_name": _l("Device model"), "failed": _l("Repaired")},
            group_by={"model_item_id": _l("Device model")}),
        Kpi("smart_home.contract_revenue", _l("Maintenance contract revenue"),
            _l("Price of the maintenance contracts starting in the period."), permission="smart_home.contracts", roles=LEADS,
            records=contract_revenue, measure="sum:price", unit="money", filters=("store",),
            columns={"number": _l("Contract"), "price": _l("Price"), "at": when}, group_by={"store_id": STORE}),
        Kpi("smart_home.repairs_by_fault", _l("Repairs by fault type"),
            _l("Repair work orders reported in the period, by fault type and device model."),
            permission="smart_home.view", roles=LEADS, records=repairs_by_fault, filters=("store",),
            columns={"number": number, "fault_type_name": _l("Fault type"), "model_item_id_name": _l("Device model"),
                     "at": when}, group_by={"fault_type": _l("Fault type"), "model_item_id": _l("Device model")},
            higher_is_better=False, link=_link),
    ]
