"""The dealership's record types in the report builder (工单报表): repair orders with their store, service advisor,
technician, service kind, state, fault category and money — declared through `register_report_sources`, so an
admin builds e.g. "revenue by advisor per month" or "repair orders by state and store" without code. The builder
limits the rows to the viewer's stores on `store_id`, inside the same statement."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from storecrm.sdk import Customer, ReportField, ReportSource, Store, User

from .labels import CATEGORY_LABELS, STATE_LABELS
from .models import RepairOrder, ServiceKind

Advisor = aliased(User)
Technician = aliased(User)


def _repair_orders(user):
    ro = RepairOrder
    return (select(ro.id.label("id"), ro.store_id.label("store_id"), ro.number.label("number"),
                   ro.state.label("state"), Store.name.label("store"), Customer.name.label("customer"),
                   Advisor.display_name.label("advisor"), Technician.display_name.label("technician"),
                   ServiceKind.name.label("service_kind"), ro.complaint_category.label("category"),
                   ro.walk_in.label("walk_in"), ro.mileage.label("mileage"), ro.qc_rejections.label("qc_rejections"),
                   ro.labour_total.label("labour_total"), ro.parts_total.label("parts_total"),
                   (ro.labour_total + ro.parts_total).label("total"), ro.customer_total.label("customer_total"),
                   ro.arrived_at.label("arrived_at"), ro.delivered_at.label("delivered_at"))
            .join(Store, and_(Store.tenant_id == ro.tenant_id, Store.id == ro.store_id))
            .join(Customer, and_(Customer.tenant_id == ro.tenant_id, Customer.id == ro.customer_id))
            .outerjoin(ServiceKind, and_(ServiceKind.tenant_id == ro.tenant_id, ServiceKind.code == ro.service_kind))
            .outerjoin(Advisor, and_(Advisor.tenant_id == ro.tenant_id, Advisor.id == ro.advisor_id))
            .outerjoin(Technician, and_(Technician.tenant_id == ro.tenant_id, Technician.id == ro.technician_id)))


def sources() -> list[ReportSource]:
    F = ReportField
    return [ReportSource(
        "dealership.repair_orders", _l("Repair orders"), "dealership.view", _repair_orders, {
            "id": F(_l("ID"), "number"), "number": F(_l("Repair order no.")),
            "state": F(_l("Status"), "choice", STATE_LABELS), "store": F(_l("Store")),
            "customer": F(_l("Customer")), "advisor": F(_l("Service advisor")), "technician": F(_l("Technician")),
            "service_kind": F(_l("Service")), "category": F(_l("Fault category"), "choice", CATEGORY_LABELS),
            "walk_in": F(_l("Walk-in"), "bool"), "mileage": F(_l("Mileage (km)"), "number"),
            "qc_rejections": F(_l("QC rejections"), "number"), "labour_total": F(_l("Labour"), "money"),
            "parts_total": F(_l("Parts"), "money"), "total": F(_l("Total"), "money"),
            "customer_total": F(_l("Paid by the customer"), "money"),
            "arrived_at": F(_l("Arrived"), "datetime"), "delivered_at": F(_l("Delivered"), "datetime")},
        default_columns=("number", "store", "advisor", "state", "total"),
        dimensions=("state", "store", "customer", "advisor", "technician", "service_kind", "category", "walk_in",
                    "arrived_at", "delivered_at"),
        measures=("mileage", "qc_rejections", "labour_total", "parts_total", "total", "customer_total"))]
