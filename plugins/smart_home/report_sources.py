"""The smart-home work orders (服务工单) in the report builder: kind, state, source, fault type, engineer, store,
first-time fix and time on site — declared through `register_report_sources`. The builder limits the rows to the
viewer's stores on `store_id`, inside the same statement."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from storecrm.sdk import Customer, ReportField, ReportSource, Store, User

from .models import FAULT_TYPES, ORDER_KINDS, SOURCES, STATES, WorkOrder


def _work_orders(user):
    wo = WorkOrder
    return (select(wo.id.label("id"), wo.store_id.label("store_id"), wo.number.label("number"),
                   wo.kind.label("kind"), wo.state.label("state"), wo.source.label("source"),
                   wo.fault_type.label("fault_type"), Store.name.label("store"), Customer.name.label("customer"),
                   User.display_name.label("engineer"), wo.first_time_fix.label("first_time_fix"),
                   wo.minutes_on_site.label("minutes_on_site"), wo.check_in_distance_m.label("check_in_distance_m"),
                   wo.reported_at.label("reported_at"), wo.completed_at.label("completed_at"))
            .join(Store, and_(Store.tenant_id == wo.tenant_id, Store.id == wo.store_id))
            .join(Customer, and_(Customer.tenant_id == wo.tenant_id, Customer.id == wo.customer_id))
            .outerjoin(User, and_(User.tenant_id == wo.tenant_id, User.id == wo.engineer_id)))


def sources() -> list[ReportSource]:
    F = ReportField
    return [ReportSource(
        "smart_home.work_orders", _l("Work orders"), "smart_home.view", _work_orders, {
            "id": F(_l("ID"), "number"), "number": F(_l("Work order no.")),
            "kind": F(_l("Type"), "choice", ORDER_KINDS), "state": F(_l("Status"), "choice", STATES),
            "source": F(_l("Source"), "choice", SOURCES), "fault_type": F(_l("Fault type"), "choice", FAULT_TYPES),
            "store": F(_l("Store")), "customer": F(_l("Customer")), "engineer": F(_l("Engineer")),
            "first_time_fix": F(_l("Fixed on the first visit"), "bool"),
            "minutes_on_site": F(_l("Minutes on site"), "number"),
            "check_in_distance_m": F(_l("Check-in distance (m)"), "number"),
            "reported_at": F(_l("Reported"), "datetime"), "completed_at": F(_l("Completed"), "datetime")},
        default_columns=("number", "kind", "engineer", "state", "reported_at"),
        dimensions=("kind", "state", "source", "fault_type", "store", "customer", "engineer", "first_time_fix",
                    "reported_at", "completed_at"),
        measures=("minutes_on_site", "check_in_distance_m"))]
