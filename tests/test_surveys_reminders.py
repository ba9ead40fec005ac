"""Surveys: one reminder to those who have not answered, after the survey's days, through the outbox, once; answers
and reminders on the customer's timeline."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from storecrm.customers.models import Customer
from storecrm.notifications.models import OutboxMessage
from storecrm.surveys import services
from storecrm.surveys.models import SurveyInvitation

LINK = re.compile(r"/t/(?P<slug>[a-z0-9-]+)/survey/(?P<token>[A-Za-z0-9_-]+)")


def _reminders(session):
    return session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("survey-reminder:%"))
                           .order_by(OutboxMessage.id)).all()


def test_one_reminder_to_those_who_did_not_answer(two_tenants, in_tenant, app):
    alpha, beta = two_tenants
    with in_tenant(beta) as session:  # beta's silent customer: none of alpha's sweeps touch it
        survey = services.create_from_template("nps")
        beta_invitation = services.send_survey(survey, session.get(Customer, (beta.id, beta.customers[0]))).id
    with in_tenant(alpha) as session:
        survey = services.create_from_template("csat")
        assert survey.reminder_days == 3
        silent = services.send_survey(survey, session.get(Customer, (alpha.id, alpha.customers[0])))
        answered = services.send_survey(survey, session.get(Customer, (alpha.id, alpha.customers[1])))
        services.answer(answered, {q["code"]: 5 for q in survey.questions}, "很好")
        off = services.create_from_template("nps")
        services.update_survey(off, {"reminder_days": 0})
        services.send_survey(off, session.get(Customer, (alpha.id, alpha.customers[2])))
        sent_at, silent_id = silent.sent_at, silent.id
        first = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"survey:{silent_id}"))
        first_token = LINK.search(first.body).group("token")
    with in_tenant(alpha) as session:
        assert services.send_reminders(now=sent_at + timedelta(days=2, hours=23)) == 0  # not yet
        assert services.send_reminders(now=sent_at + timedelta(days=3, minutes=1)) == 1
        reminders = _reminders(session)
        assert len(reminders) == 1 and reminders[0].dedupe_key == f"survey-reminder:{silent_id}"
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        assert reminders[0].recipient == customer.mobile and reminders[0].channel == "sms"
        second_token = LINK.search(reminders[0].body).group("token")
        assert second_token != first_token
        # both links open the same invitation
        assert services.invitation_for_token(first_token).id == services.invitation_for_token(second_token).id \
            == silent_id
    with in_tenant(alpha) as session:
        # once: later sweeps send nothing more, even before the link expires
        assert services.send_reminders(now=sent_at + timedelta(days=10)) == 0
        assert len(_reminders(session)) == 1
    with in_tenant(beta) as session:
        assert session.get(SurveyInvitation, (beta.id, beta_invitation)).reminded_at is None
        assert _reminders(session) == []
        # an expired link gets no reminder
        assert services.send_reminders(now=sent_at + timedelta(days=30)) == 0


def test_answers_and_reminders_are_on_the_customers_timeline(two_tenants, in_tenant, api_token, app):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        survey = services.create_from_template("nps")
        invitation = services.send_survey(survey, session.get(Customer, (alpha.id, alpha.customers[0])))
        sent_at = invitation.sent_at
    with in_tenant(alpha):
        services.send_reminders(now=sent_at + timedelta(days=4))
    with in_tenant(alpha) as session:
        services.answer(session.get(SurveyInvitation, (alpha.id, invitation.id)), {"recommend": 3}, "等太久")
    headers = api_token(alpha)
    items = app.test_client().get(f"/api/v1/customers/{alpha.customers[0]}/timeline?kinds=survey",
                                  headers=headers).get_json()["items"]
    titles = [i["title"] for i in items]
    assert any("Low score 3" in t for t in titles), titles
    assert any("Reminder" in t for t in titles) and any("sent" in t for t in titles)
    low = next(i for i in items if "Low score" in i["title"])
    assert "等太久" in low["body"] and ": 3" in low["body"]
