"""The surveys' KPIs: CSAT by dimension, NPS, response rate, complaints by reason category and the complaint rate
(registered by core_plugin.py through `register_kpis`)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from ..customers.models import Customer
from ..hooks.contrib import Kpi
from ..stores.models import Store
from .models import SurveyAnswer, SurveyInvitation, SurveyResponse

CHANNELS = {"sms": _l("SMS"), "email": _l("Email")}
BY_STORE = {"store_id": _l("Store")}


def _with_store(query, model):
    return query.add_columns(Store.name.label("store_id_name")).outerjoin(
        Store, and_(Store.tenant_id == model.tenant_id, Store.id == model.store_id))


def _answers(scope):
    """Surveys answered in the period by customers of the viewer's stores (and the staff filter), with the
    customer's name: the base of the response KPIs."""
    query = (select(SurveyResponse.id.label("id"), Customer.name.label("customer"),
                    SurveyResponse.store_id.label("store_id"), SurveyResponse.score.label("score"),
                    SurveyResponse.submitted_at.label("at"))
             .join(Customer, and_(Customer.tenant_id == SurveyResponse.tenant_id,
                                  Customer.id == SurveyResponse.customer_id))
             .where(SurveyResponse.submitted_at >= scope.start, SurveyResponse.submitted_at < scope.end,
                    scope.stores(SurveyResponse.store_id)))
    if scope.staff_id is not None:
        query = query.where(SurveyResponse.staff_id == scope.staff_id)
    return query


def _responses(scope, kind):
    return _with_store(_answers(scope).where(SurveyResponse.kind == kind), SurveyResponse)


def csat_answers(scope):
    """Every CSAT score given in the period, one row per dimension answered (shown to the customer)."""
    query = (select(SurveyAnswer.id.label("id"), Customer.name.label("customer"),
                    SurveyResponse.store_id.label("store_id"), SurveyAnswer.question.label("dimension"),
                    SurveyAnswer.label.label("dimension_name"), SurveyAnswer.score.label("score"),
                    SurveyResponse.submitted_at.label("at"))
             .join(SurveyResponse, and_(SurveyResponse.tenant_id == SurveyAnswer.tenant_id,
                                        SurveyResponse.id == SurveyAnswer.response_id))
             .join(Customer, and_(Customer.tenant_id == SurveyResponse.tenant_id,
                                  Customer.id == SurveyResponse.customer_id))
             # scores only (a reason category picked has none); a question hidden by its condition has no row
             .where(SurveyAnswer.score.is_not(None), SurveyResponse.kind == "csat",
                    SurveyResponse.submitted_at >= scope.start,
                    SurveyResponse.submitted_at < scope.end, scope.stores(SurveyResponse.store_id)))
    if scope.staff_id is not None:
        query = query.where(SurveyResponse.staff_id == scope.staff_id)
    return _with_store(query, SurveyResponse)


def nps_responses(scope):
    return _responses(scope, "nps")


def invitations(scope):
    """Invitations sent in the period; `answered`: answered (at any time since)."""
    query = (select(SurveyInvitation.id.label("id"), Customer.name.label("customer"),
                    SurveyInvitation.store_id.label("store_id"), SurveyInvitation.channel.label("channel"),
                    SurveyInvitation.sent_at.label("at"),
                    SurveyInvitation.answered_at.is_not(None).label("answered"))
             .join(Customer, and_(Customer.tenant_id == SurveyInvitation.tenant_id,
                                  Customer.id == SurveyInvitation.customer_id))
             .where(SurveyInvitation.sent_at >= scope.start, SurveyInvitation.sent_at < scope.end,
                    scope.stores(SurveyInvitation.store_id)))
    if scope.staff_id is not None:
        query = query.where(SurveyInvitation.staff_id == scope.staff_id)
    if scope.channel is not None:
        query = query.where(SurveyInvitation.channel == scope.channel)
    return _with_store(query, SurveyInvitation)


def _first_reason(column):
    """The first reason category the customer picked on the response (its code or label), None if none."""
    return (select(column)
            .where(SurveyAnswer.tenant_id == SurveyResponse.tenant_id, SurveyAnswer.response_id == SurveyResponse.id,
                   SurveyAnswer.choice.is_not(None))
            .order_by(SurveyAnswer.id).limit(1).correlate(SurveyResponse).scalar_subquery())


def answered(scope):
    """Every survey answered in the period, CSAT and NPS; `complaint`: scored at or below the survey's threshold,
    which started the complaint workflow; `reason`: the first reason category picked (`none` when none)."""
    return _with_store(_answers(scope).add_columns(
        SurveyResponse.kind.label("kind"),
        case((SurveyResponse.kind == "nps", _("NPS")), else_=_("CSAT")).label("kind_name"),
        SurveyResponse.low.label("complaint"),
        func.coalesce(_first_reason(SurveyAnswer.choice), "none").label("reason"),
        func.coalesce(_first_reason(SurveyAnswer.label), _("No reason given")).label("reason_name")), SurveyResponse)


def complaints(scope):
    """The answers of the period that were complaints (see `answered`)."""
    return answered(scope).where(SurveyResponse.low.is_(True))


RESPONSE_COLUMNS = {"id": _l("ID"), "customer": _l("Customer"), "store_id": _l("Store"), "score": _l("Score"),
                    "at": _l("Answered")}


COMPLAINT_COLUMNS = {"id": _l("ID"), "customer": _l("Customer"), "store_id": _l("Store"),
                     "kind_name": _l("Survey type"), "score": _l("Score"), "reason_name": _l("Reason category"),
                     "at": _l("Answered")}


def kpis() -> list[Kpi]:
    return [
        Kpi("surveys.csat", _l("Satisfaction (CSAT)"),
            _l("Average of the 1–5 scores customers gave in the period, over every dimension answered; broken "
               "down by dimension and store. Staff: who served the customer."),
            permission="surveys.view", records=csat_answers, measure="avg:score", unit="score",
            filters=("store", "staff"), columns={**RESPONSE_COLUMNS, "dimension_name": _l("Dimension")},
            group_by={"dimension": _l("Dimension"), **BY_STORE}),
        Kpi("surveys.nps", _l("Net Promoter Score"),
            _l("Of the NPS answers (0–10) in the period: the percentage of promoters (9–10) minus the percentage of "
               "detractors (0–6), from −100 to 100."),
            permission="surveys.view", records=nps_responses, measure="nps:score", filters=("store", "staff"),
            columns=RESPONSE_COLUMNS, group_by=BY_STORE),
        Kpi("surveys.response_rate", _l("Survey response rate"),
            _l("Of the survey invitations sent in the period, the share answered. Channel: SMS or email."),
            permission="surveys.view", records=invitations, measure="rate:answered", unit="%",
            filters=("store", "staff", "channel"), channels=CHANNELS,
            columns={"id": _l("ID"), "customer": _l("Customer"), "store_id": _l("Store"), "channel": _l("Channel"),
                     "at": _l("Sent"), "answered": _l("Answered")}, group_by=BY_STORE),
        Kpi("surveys.complaints", _l("Complaints"),
            _l("Survey answers in the period scored at or below the survey's complaint threshold (each started the "
               "complaint workflow); broken down by the reason category the customer picked, or by store."),
            permission="surveys.view", records=complaints, measure="count", filters=("store", "staff"),
            columns=COMPLAINT_COLUMNS, group_by={"reason": _l("Reason category"), **BY_STORE}, higher_is_better=False),
        Kpi("surveys.complaint_rate", _l("Complaint rate"),
            _l("Of the survey answers (CSAT and NPS) in the period, the share scored at or below the survey's "
               "complaint threshold. By reason category: the share of the answers naming that reason that were "
               "complaints."),
            permission="surveys.view", records=answered, measure="rate:complaint", unit="%",
            filters=("store", "staff"), columns={**COMPLAINT_COLUMNS, "complaint": _l("Complaint")},
            group_by={"reason": _l("Reason category"), "kind": _l("Survey type"), **BY_STORE}, higher_is_better=False),
    ]
