"""Car-audio KPIs in the reports engine and two dashboard widgets (the vehicle-model × brand pivot and the
cross-sell list). Every KPI is one SELECT; the engine computes the number, the trend and the drill-down from it."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, select

from storecrm.sdk import Customer, DashboardWidget, Kpi, SurveyAnswer, SurveyInvitation, SurveyResponse, User

from . import labels, services
from .models import Component, FeedbackReason, InstallJob

VIEW = "car_audio.view"


def _responses(scope):
    """Answered satisfaction surveys about install jobs: the average of the four dimensions, the technician."""
    mean = (select(func.avg(SurveyAnswer.score)).where(SurveyAnswer.response_id == SurveyResponse.id)
            .correlate(SurveyResponse).scalar_subquery())
    query = (select(SurveyResponse.id.label("id"), Customer.name.label("customer"), InstallJob.number.label("job"),
                    InstallJob.technician_id.label("technician_id"),
                    func.coalesce(User.display_name, "—").label("technician_id_name"),
                    func.round(mean, 2).label("score"), SurveyResponse.low.label("low"),
                    SurveyResponse.comment.label("comment"), SurveyResponse.store_id.label("store_id"),
                    SurveyResponse.submitted_at.label("at"))
             .join(SurveyInvitation, and_(SurveyInvitation.tenant_id == SurveyResponse.tenant_id,
                                          SurveyInvitation.id == SurveyResponse.invitation_id))
             .join(InstallJob, and_(InstallJob.tenant_id == SurveyInvitation.tenant_id,
                                    InstallJob.id == SurveyInvitation.related_id))
             .join(Customer, and_(Customer.tenant_id == SurveyResponse.tenant_id,
                                  Customer.id == SurveyResponse.customer_id))
             .outerjoin(User, and_(User.tenant_id == InstallJob.tenant_id, User.id == InstallJob.technician_id))
             .where(SurveyInvitation.related_type == services.JOB_REF, SurveyResponse.submitted_at >= scope.start,
                    SurveyResponse.submitted_at < scope.end, scope.stores(SurveyResponse.store_id)))
    if scope.staff_id is not None:
        query = query.where(InstallJob.technician_id == scope.staff_id)
    return query


def _low(scope):
    return _responses(scope).where(SurveyResponse.low.is_(True))


def _reasons(scope):
    names = case(*[(FeedbackReason.reason == code, literal(str(label))) for code, label in labels.REASONS.items()],
                 else_=FeedbackReason.reason)
    return (select(FeedbackReason.id.label("id"), InstallJob.number.label("job"), FeedbackReason.reason.label("reason"),
                   names.label("reason_name"), FeedbackReason.store_id.label("store_id"), FeedbackReason.at.label("at"))
            .join(InstallJob, and_(InstallJob.tenant_id == FeedbackReason.tenant_id, InstallJob.id == FeedbackReason.job_id))
            .where(FeedbackReason.at >= scope.start, FeedbackReason.at < scope.end, scope.stores(FeedbackReason.store_id)))


def _delivered(scope):
    tiers = case(*[(InstallJob.package_tier == code, literal(str(label))) for code, label in labels.TIERS.items()],
                 else_=literal("—"))
    query = (select(InstallJob.id.label("id"), InstallJob.number.label("job"), Customer.name.label("customer"),
                    InstallJob.package_tier.label("tier"), tiers.label("tier_name"),
                    InstallJob.technician_id.label("technician_id"),
                    func.coalesce(User.display_name, "—").label("technician_id_name"),
                    (InstallJob.rework_count > 0).label("reworked"), InstallJob.store_id.label("store_id"),
                    InstallJob.delivered_at.label("at"))
             .join(Customer, and_(Customer.tenant_id == InstallJob.tenant_id, Customer.id == InstallJob.customer_id))
             .outerjoin(User, and_(User.tenant_id == InstallJob.tenant_id, User.id == InstallJob.technician_id))
             .where(InstallJob.delivered_at >= scope.start, InstallJob.delivered_at < scope.end,
                    scope.stores(InstallJob.store_id)))
    if scope.staff_id is not None:
        query = query.where(InstallJob.technician_id == scope.staff_id)
    return query


def _components(scope):
    from storecrm.sdk import Asset
    model = func.concat_ws(" ", Asset.attributes["brand"].astext, Asset.attributes["model"].astext)
    return (select(Component.id.label("id"), model.label("vehicle_model"), model.label("vehicle_model_name"),
                   Component.brand.label("brand"), Component.brand.label("brand_name"), Component.name.label("item"),
                   Component.serial.label("serial"), InstallJob.store_id.label("store_id"),
                   InstallJob.created_at.label("at"))
            .join(InstallJob, and_(InstallJob.tenant_id == Component.tenant_id, InstallJob.id == Component.job_id))
            .join(Asset, and_(Asset.tenant_id == InstallJob.tenant_id, Asset.id == InstallJob.vehicle_id))
            .where(Component.removed_at.is_(None), InstallJob.created_at >= scope.start,
                   InstallJob.created_at < scope.end, scope.stores(InstallJob.store_id)))


def kpis():
    response_columns = {"id": _l("ID"), "customer": _l("Customer"), "job": _l("Job"),
                        "technician_id_name": _l("Technician"), "score": _l("Score"), "comment": _l("Comment"),
                        "at": _l("Answered")}
    by_tech = {"technician_id": _l("Technician"), "store_id": _l("Store")}
    return [
        Kpi("car_audio.satisfaction", _l("Install satisfaction"),
            _l("Average of the four scores (timeliness, expertise, attitude, sound) customers gave after an install, "
               "per answered survey; by technician for the ranking."),
            permission=VIEW, records=_responses, measure="avg:score", unit="score", filters=("store", "staff"),
            columns=response_columns, group_by=by_tech, roles=("owner", "admin", "manager")),
        Kpi("car_audio.low_scores", _l("Low install scores"),
            _l("Answered install surveys with a score of 3 or less: each opened a complaint for the manager."),
            permission=VIEW, records=_low, filters=("store", "staff"), columns=response_columns, group_by=by_tech,
            higher_is_better=False, roles=("owner", "admin", "manager")),
        Kpi("car_audio.reasons", _l("Dissatisfaction reasons"),
            _l("Reasons customers gave at the follow-up call, counted per reason."),
            permission=VIEW, records=_reasons, filters=("store",), higher_is_better=False,
            columns={"id": _l("ID"), "job": _l("Job"), "reason_name": _l("Reason"), "at": _l("When")},
            group_by={"reason": _l("Reason"), "store_id": _l("Store")}, roles=("owner", "admin", "manager")),
        Kpi("car_audio.delivered", _l("Install jobs delivered"),
            _l("Install jobs handed back to the customer in the period; by technician and package."),
            permission=VIEW, records=_delivered, filters=("store", "staff"),
            columns={"id": _l("ID"), "job": _l("Job"), "customer": _l("Customer"), "tier_name": _l("Package"),
                     "technician_id_name": _l("Technician"), "at": _l("Delivered")},
            group_by={"technician_id": _l("Technician"), "tier": _l("Package"), "store_id": _l("Store")},
            roles=("owner", "admin", "manager")),
        Kpi("car_audio.first_time_qc", _l("QC passed first time"),
            _l("Share of delivered install jobs that QC never sent back to rework."),
            permission=VIEW, records=lambda scope: _delivered(scope).add_columns(
                (InstallJob.rework_count == 0).label("first_time")),
            measure="rate:first_time", unit="%", filters=("store", "staff"),
            columns={"id": _l("ID"), "job": _l("Job"), "technician_id_name": _l("Technician"), "at": _l("Delivered")},
            group_by={"technician_id": _l("Technician")}, roles=("owner", "admin", "manager")),
        Kpi("car_audio.components", _l("Components installed"),
            _l("Components installed in jobs started in the period, by the car's model and the brand."),
            permission=VIEW, records=_components, filters=("store",),
            columns={"id": _l("ID"), "vehicle_model": _l("Car model"), "brand": _l("Brand"), "item": _l("Item"),
                     "serial": _l("Serial number")},
            group_by={"brand": _l("Brand"), "vehicle_model": _l("Car model")}, roles=("owner", "admin", "manager")),
    ]


def _pivot(user):
    table, brands = services.model_brand_pivot()
    return {"table": table, "brands": brands}


def _cross_sell(user):
    return {"rows": services.cross_sell(limit=20)}


def widgets():
    return [DashboardWidget("car_audio.model_brand", _l("Car model × brand"), "car_audio/_widget_pivot.html", VIEW,
                            _pivot, "main", 60),
            DashboardWidget("car_audio.cross_sell", _l("Cross-sell: amplifier without a DSP of its brand"),
                            "car_audio/_widget_cross_sell.html", VIEW, _cross_sell, "main", 61)]
