"""The survey lines of a customer's timeline: surveys sent, reminders, and the answers with their scores."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Text, and_, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ..extensions import db
from ..hooks.contrib import TimelineEntry
from .models import Survey, SurveyAnswer, SurveyInvitation, SurveyResponse


def timeline_entries(customer, before, limit) -> list[TimelineEntry]:
    """Up to `limit` survey entries about the customer older than `before`, in ONE query: each invitation with its
    survey's name, its answer if any, and the answer's scores per question and reasons picked ("质量: 4 · 等待太久")."""
    given = func.coalesce(SurveyAnswer.label + ": " + cast(SurveyAnswer.score, Text), SurveyAnswer.label)
    scores = (select(func.string_agg(given,
                                     aggregate_order_by(literal_column("' · '"), SurveyAnswer.id)))
              .where(SurveyAnswer.response_id == SurveyResponse.id).correlate(SurveyResponse).scalar_subquery())
    latest = func.greatest(SurveyInvitation.sent_at, func.coalesce(SurveyInvitation.reminded_at,
                                                                   SurveyInvitation.sent_at),
                           func.coalesce(SurveyResponse.submitted_at, SurveyInvitation.sent_at))
    query = (select(SurveyInvitation, Survey.name, SurveyResponse, scores.label("scores"))
             .join(Survey, and_(Survey.tenant_id == SurveyInvitation.tenant_id,
                                Survey.id == SurveyInvitation.survey_id))
             .outerjoin(SurveyResponse, and_(SurveyResponse.tenant_id == SurveyInvitation.tenant_id,
                                             SurveyResponse.invitation_id == SurveyInvitation.id))
             .where(SurveyInvitation.customer_id == customer.id).order_by(latest.desc()).limit(limit))
    if before is not None:
        query = query.where(SurveyInvitation.sent_at < before)
    out = []
    for invitation, name, response, answered in db.session.execute(query):
        url = f"/surveys/{invitation.survey_id}"
        entries = [(invitation.sent_at, _("Survey “%(name)s” sent", name=name), None)]
        if invitation.reminded_at is not None:
            entries.append((invitation.reminded_at, _("Reminder for the survey “%(name)s” sent", name=name), None))
        if response is not None:
            title = (_("Low score %(score)s on the survey “%(name)s”", score=response.score, name=name)
                     if response.low else
                     _("Answered the survey “%(name)s” (score %(score)s)", score=response.score, name=name))
            body = answered or ""
            if response.comment:
                body = f"{body} — “{response.comment}”" if body else f"“{response.comment}”"
            entries.append((response.submitted_at, title, body or None))
        out.extend(TimelineEntry(at, "survey", title, body, url) for at, title, body in entries
                   if before is None or at < before)
    out.sort(key=lambda e: e.at, reverse=True)
    return out[:limit]
