"""The survey lines of a customer's timeline: surveys sent, reminders, and the answers with their scores."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..hooks.contrib import TimelineEntry
from .models import Survey, SurveyAnswer, SurveyInvitation, SurveyResponse


def timeline_entries(customer, before, limit) -> list[TimelineEntry]:
    """Up to `limit` survey entries about the customer older than `before` (three indexed queries)."""
    sent_q = (select(SurveyInvitation, Survey.name).join(Survey, (Survey.tenant_id == SurveyInvitation.tenant_id)
                                                        & (Survey.id == SurveyInvitation.survey_id))
              .where(SurveyInvitation.customer_id == customer.id).order_by(SurveyInvitation.sent_at.desc())
              .limit(limit))
    if before is not None:
        sent_q = sent_q.where(SurveyInvitation.sent_at < before)
    out = []
    for invitation, name in db.session.execute(sent_q):
        url = f"/surveys/{invitation.survey_id}"
        out.append(TimelineEntry(invitation.sent_at, "survey", _("Survey “%(name)s” sent", name=name), None, url))
        if invitation.reminded_at is not None and (before is None or invitation.reminded_at < before):
            out.append(TimelineEntry(invitation.reminded_at, "survey",
                                     _("Reminder for the survey “%(name)s” sent", name=name), None, url))
    answer_q = (select(SurveyResponse, Survey.name).join(Survey, (Survey.tenant_id == SurveyResponse.tenant_id)
                                                         & (Survey.id == SurveyResponse.survey_id))
                .where(SurveyResponse.customer_id == customer.id).order_by(SurveyResponse.submitted_at.desc())
                .limit(limit))
    if before is not None:
        answer_q = answer_q.where(SurveyResponse.submitted_at < before)
    answered = list(db.session.execute(answer_q))
    scores: dict[int, list[str]] = {}
    if answered:
        for a in db.session.scalars(select(SurveyAnswer).where(
                SurveyAnswer.response_id.in_([r.id for r, _n in answered])).order_by(SurveyAnswer.id)):
            scores.setdefault(a.response_id, []).append(f"{a.label}: {a.score}")
    for response, name in answered:
        title = (_("Low score %(score)s on the survey “%(name)s”", score=response.score, name=name) if response.low
                 else _("Answered the survey “%(name)s” (score %(score)s)", score=response.score, name=name))
        body = " · ".join(scores.get(response.id, []))
        if response.comment:
            body = f"{body} — “{response.comment}”" if body else f"“{response.comment}”"
        out.append(TimelineEntry(response.submitted_at, "survey", title, body or None,
                                 f"/surveys/{response.survey_id}"))
    out.sort(key=lambda e: e.at, reverse=True)
    return out[:limit]
