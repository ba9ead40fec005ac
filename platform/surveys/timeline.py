"""The survey lines of a customer's timeline (`TimelineSource`s the core unions): surveys sent, reminders, and the
answers with their scores per question and the reasons picked ("质量: 4 · 等待太久")."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Text, and_, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ..hooks.contrib import TimelineEntry, TimelineSource
from .models import Survey, SurveyAnswer, SurveyInvitation, SurveyResponse


def _invitations(column):
    def rows(customer_id):
        return (select(column.label("at"), func.jsonb_build_object(
            "survey", SurveyInvitation.survey_id, "name", Survey.name).label("data"))
            .join(Survey, and_(Survey.tenant_id == SurveyInvitation.tenant_id, Survey.id == SurveyInvitation.survey_id))
            .where(SurveyInvitation.customer_id == customer_id, column.is_not(None)))
    return rows


def _sent(at, data) -> TimelineEntry:
    return TimelineEntry(at, "survey", _("Survey “%(name)s” sent", name=data["name"]), None,
                         f"/surveys/{data['survey']}")


def _reminded(at, data) -> TimelineEntry:
    return TimelineEntry(at, "survey", _("Reminder for the survey “%(name)s” sent", name=data["name"]), None,
                         f"/surveys/{data['survey']}")


def _answers(customer_id):
    given = func.coalesce(SurveyAnswer.label + ": " + cast(SurveyAnswer.score, Text), SurveyAnswer.label)
    scores = (select(func.string_agg(given, aggregate_order_by(literal_column("' · '"), SurveyAnswer.id)))
              .where(SurveyAnswer.response_id == SurveyResponse.id).correlate(SurveyResponse).scalar_subquery())
    return (select(SurveyResponse.submitted_at.label("at"), func.jsonb_build_object(
        "survey", SurveyInvitation.survey_id, "name", Survey.name, "score", SurveyResponse.score,
        "low", SurveyResponse.low, "comment", SurveyResponse.comment, "scores", scores).label("data"))
        .join(SurveyInvitation, and_(SurveyInvitation.tenant_id == SurveyResponse.tenant_id,
                                     SurveyInvitation.id == SurveyResponse.invitation_id))
        .join(Survey, and_(Survey.tenant_id == SurveyInvitation.tenant_id, Survey.id == SurveyInvitation.survey_id))
        .where(SurveyInvitation.customer_id == customer_id))


def _answered(at, data) -> TimelineEntry:
    name, score = data["name"], data["score"]
    title = (_("Low score %(score)s on the survey “%(name)s”", score=score, name=name) if data["low"] else
             _("Answered the survey “%(name)s” (score %(score)s)", score=score, name=name))
    body = data["scores"] or ""
    if data["comment"]:
        body = f"{body} — “{data['comment']}”" if body else f"“{data['comment']}”"
    return TimelineEntry(at, "survey", title, body or None, f"/surveys/{data['survey']}")


SOURCES = [
    TimelineSource("surveys.sent", "survey", _invitations(SurveyInvitation.sent_at), _sent),
    TimelineSource("surveys.reminded", "survey", _invitations(SurveyInvitation.reminded_at), _reminded),
    TimelineSource("surveys.answered", "survey", _answers, _answered),
]
