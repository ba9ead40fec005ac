"""The report builder's record types (`storecrm.sdk.ReportSource`): the core's, declared exactly as a plugin's are,
and registered through `register_report_sources` by core_plugin.py.

Each `rows(user)` is one SELECT of labelled columns plus the hidden `store_id`; the builder limits it to the
viewer's stores on that column inside the same statement. Leads alone limit themselves (`store_column=None`):
like the leads list, a viewer sees their stores' leads and the ones they own.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from ..customers.models import Customer
from ..hooks.contrib import ReportField as F
from ..hooks.contrib import ReportSource
from ..hooks.runtime import enabled_plugins, host
from ..leads.models import Lead, LeadChannel
from ..leads.services import STATUS_LABELS as LEAD_STATUS
from ..sales.labels import INVOICE_LABELS, ORDER_STATE_LABELS
from ..sales.models import SalesDocument
from ..scheduling.booking import STATUS_LABELS as APPOINTMENT_STATUS
from ..scheduling.models import Appointment, ServiceType
from ..stores.models import Store
from ..surveys.models import SurveyResponse
from ..users.models import User

GENDERS = {"M": _l("Male"), "F": _l("Female")}
SURVEY_KINDS = {"csat": _l("CSAT"), "nps": _l("NPS")}


def registered() -> dict[str, ReportSource]:
    """code -> ReportSource of the core and the plugins enabled for the current tenant."""
    return {s.code: s for s in host().items("register_report_sources", enabled_plugins())}


def _store_join(model):
    return and_(Store.tenant_id == model.tenant_id, Store.id == model.store_id)


def _customers(user):
    return (select(Customer.id.label("id"), Customer.store_id.label("store_id"), Customer.custom.label("custom"),
                   Customer.name.label("name"), Store.name.label("store"),
                   Customer.level.label("level"), Customer.source.label("source"), Customer.city.label("city"),
                   Customer.gender.label("gender"), Customer.created_at.label("created_at"),
                   Customer.order_count.label("order_count"), Customer.lifetime_spend.label("lifetime_spend"),
                   Customer.average_order_value.label("average_order_value"),
                   Customer.last_purchase_at.label("last_purchase_at"))
            .join(Store, _store_join(Customer))
            .where(Customer.deleted_at.is_(None)))


def _orders(user):
    staff = User.__table__.alias("staff")
    return (select(SalesDocument.id.label("id"), SalesDocument.store_id.label("store_id"),
                   SalesDocument.number.label("number"),
                   SalesDocument.state.label("state"), Customer.name.label("customer"), Store.name.label("store"),
                   staff.c.display_name.label("staff"), SalesDocument.total.label("total"),
                   SalesDocument.paid_total.label("paid_total"), SalesDocument.refunded_total.label("refunded_total"),
                   SalesDocument.invoice_state.label("invoice_state"), SalesDocument.created_at.label("created_at"),
                   SalesDocument.confirmed_at.label("confirmed_at"))
            .join(Customer, and_(Customer.tenant_id == SalesDocument.tenant_id,
                                 Customer.id == SalesDocument.customer_id))
            .join(Store, _store_join(SalesDocument))
            .outerjoin(staff, and_(staff.c.tenant_id == SalesDocument.tenant_id,
                                   staff.c.id == SalesDocument.staff_id))
            .where(SalesDocument.kind == "order"))


def _appointments(user):
    staff = User.__table__.alias("staff")
    return (select(Appointment.id.label("id"), Appointment.store_id.label("store_id"),
                   Customer.name.label("customer"), Store.name.label("store"),
                   ServiceType.name.label("service"), staff.c.display_name.label("staff"),
                   Appointment.status.label("status"), Appointment.walk_in.label("walk_in"),
                   Appointment.starts_at.label("starts_at"), Appointment.completed_at.label("completed_at"))
            .join(Customer, and_(Customer.tenant_id == Appointment.tenant_id, Customer.id == Appointment.customer_id))
            .join(Store, _store_join(Appointment))
            .join(ServiceType, and_(ServiceType.tenant_id == Appointment.tenant_id,
                                    ServiceType.id == Appointment.service_type_id))
            .outerjoin(staff, and_(staff.c.tenant_id == Appointment.tenant_id, staff.c.id == Appointment.staff_id)))


def _leads(user):
    owner = User.__table__.alias("owner")
    query = (select(Lead.id.label("id"), Lead.name.label("name"), Lead.status.label("status"),
                    LeadChannel.name.label("channel"), Store.name.label("store"), owner.c.display_name.label("owner"),
                    Lead.interest.label("interest"), Lead.enquiries.label("enquiries"),
                    Lead.created_at.label("created_at"))
             .join(LeadChannel, and_(LeadChannel.tenant_id == Lead.tenant_id, LeadChannel.id == Lead.channel_id))
             .outerjoin(Store, _store_join(Lead))
             .outerjoin(owner, and_(owner.c.tenant_id == Lead.tenant_id, owner.c.id == Lead.owner_id)))
    if not user.sees_all_stores:  # as the leads list: their stores' leads and their own
        query = query.where(or_(Lead.store_id.in_(user.store_ids or [-1]), Lead.owner_id == user.id))
    return query


def _survey_responses(user):
    staff = User.__table__.alias("staff")
    return (select(SurveyResponse.id.label("id"), SurveyResponse.store_id.label("store_id"),
                   SurveyResponse.kind.label("kind"),
                   Customer.name.label("customer"), Store.name.label("store"), staff.c.display_name.label("staff"),
                   SurveyResponse.score.label("score"), SurveyResponse.low.label("low"),
                   SurveyResponse.comment.label("comment"), SurveyResponse.submitted_at.label("submitted_at"))
            .join(Customer, and_(Customer.tenant_id == SurveyResponse.tenant_id,
                                 Customer.id == SurveyResponse.customer_id))
            .outerjoin(Store, _store_join(SurveyResponse))
            .outerjoin(staff, and_(staff.c.tenant_id == SurveyResponse.tenant_id,
                                   staff.c.id == SurveyResponse.staff_id)))


def core_sources() -> list[ReportSource]:
    return [
        ReportSource("customers", _l("Customers"), "customers.view", _customers, {
            "id": F(_l("ID"), "number"), "name": F(_l("Name")), "store": F(_l("Store")), "level": F(_l("Level")),
            "source": F(_l("Source")), "city": F(_l("City")), "gender": F(_l("Gender"), "choice", GENDERS),
            "created_at": F(_l("Created"), "datetime"), "order_count": F(_l("Orders"), "number"),
            "lifetime_spend": F(_l("Lifetime spend"), "money"),
            "average_order_value": F(_l("Average order value"), "money"),
            "last_purchase_at": F(_l("Last purchase"), "datetime")},
            ("name", "store", "order_count", "lifetime_spend"), custom_fields="customer"),
        ReportSource("orders", _l("Orders"), "sales.view", _orders, {
            "id": F(_l("ID"), "number"), "number": F(_l("Order no.")),
            "state": F(_l("Status"), "choice", ORDER_STATE_LABELS),
            "customer": F(_l("Customer")), "store": F(_l("Store")), "staff": F(_l("Staff")),
            "total": F(_l("Total"), "money"), "paid_total": F(_l("Paid"), "money"),
            "refunded_total": F(_l("Refunded"), "money"),
            "invoice_state": F(_l("Invoice"), "choice", INVOICE_LABELS), "created_at": F(_l("Created"), "datetime"),
            "confirmed_at": F(_l("Confirmed"), "datetime")},
            ("number", "customer", "store", "state", "total")),
        ReportSource("appointments", _l("Appointments"), "scheduling.view", _appointments, {
            "id": F(_l("ID"), "number"), "customer": F(_l("Customer")), "store": F(_l("Store")),
            "service": F(_l("Service")), "staff": F(_l("Staff")),
            "status": F(_l("Status"), "choice", dict(APPOINTMENT_STATUS)),
            "walk_in": F(_l("Walk-in"), "bool"), "starts_at": F(_l("Starts"), "datetime"),
            "completed_at": F(_l("Completed"), "datetime")},
            ("starts_at", "customer", "service", "status")),
        ReportSource("leads", _l("Leads"), "leads.view", _leads, {
            "id": F(_l("ID"), "number"), "name": F(_l("Name")), "status": F(_l("Status"), "choice", LEAD_STATUS),
            "channel": F(_l("Channel")), "store": F(_l("Store")), "owner": F(_l("Owner")),
            "interest": F(_l("Interest")), "enquiries": F(_l("Enquiries"), "number"),
            "created_at": F(_l("Captured"), "datetime")},
            ("name", "channel", "status", "created_at"), store_column=None),
        ReportSource("survey_responses", _l("Survey answers"), "surveys.view", _survey_responses, {
            "id": F(_l("ID"), "number"), "kind": F(_l("Survey type"), "choice", SURVEY_KINDS),
            "customer": F(_l("Customer")), "store": F(_l("Store")), "staff": F(_l("Staff")),
            "score": F(_l("Score"), "number"), "low": F(_l("Low score"), "bool"), "comment": F(_l("Comment")),
            "submitted_at": F(_l("Answered"), "datetime")},
            ("submitted_at", "customer", "kind", "score")),
    ]
