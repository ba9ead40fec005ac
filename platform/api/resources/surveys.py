"""Satisfaction surveys, sending one to a customer, and the answers."""
from __future__ import annotations

from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...customers.services import get_customer
from ...surveys import services
from ...surveys.schemas import SurveyInvitationSchema, SurveyResponseSchema, SendSurveySchema, SurveySchema
from ..auth import api_user, requires
from ..common import patch_load, unprocessable

blp = Blueprint("api_surveys", __name__, url_prefix="/surveys", description="Satisfaction surveys (满意度调研)")
responses_blp = Blueprint("api_survey_responses", __name__, url_prefix="/survey-responses",
                          description="Survey answers")


class SurveyListSchema(Schema):
    items = fields.List(fields.Nested(SurveySchema))


class SurveyResponseArgs(Schema):
    survey_id = fields.Integer(load_default=None, validate=validate.Range(1, 2**62))
    customer_id = fields.Integer(load_default=None, validate=validate.Range(1, 2**62))
    after = fields.Integer(load_default=None, validate=validate.Range(1, 2**62),
                           metadata={"description": "keyset: answers older than this id"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class SurveyResponsePageSchema(Schema):
    items = fields.List(fields.Nested(SurveyResponseSchema))
    next_after = fields.Integer(allow_none=True)


def _survey(survey_id):
    survey = services.get_survey(survey_id)
    if survey is None:
        abort(404)
    return survey


@blp.route("")
@blp.response(200, SurveyListSchema)
@requires("surveys.view")
def list_surveys():
    return {"items": services.surveys()}


@blp.route("", methods=["POST"])
@blp.arguments(SurveySchema)
@blp.response(201, SurveySchema)
@requires("surveys.manage")
def create_survey(data):
    """CSAT (`kind` "csat": one 1–5 question per dimension) or NPS ("nps": one 0–10 question); a score at or below
    `low_score` creates a call-back task for the store manager due in `escalation_hours`."""
    try:
        return services.create_survey(data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:survey_id>")
@blp.response(200, SurveySchema)
@requires("surveys.view")
def get_survey(survey_id):
    return _survey(survey_id)


@blp.route("/<int:survey_id>", methods=["PATCH"])
@blp.arguments(SurveySchema(partial=True))
@blp.response(200, SurveySchema)
@requires("surveys.manage")
def update_survey(data, survey_id):
    survey = _survey(survey_id)
    try:
        return services.update_survey(survey, patch_load(SurveySchema(), SurveySchema().dump(survey)))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/send", methods=["POST"])
@blp.arguments(SendSurveySchema)
@blp.response(201, SurveyInvitationSchema)
@blp.alt_response(200, description="not sent: the customer was asked within the survey's throttle_days")
@requires("surveys.manage")
def send_survey(data):
    """Send a survey to a customer now (SMS, else email, through the outbox)."""
    survey = services.get_survey(data["survey_id"])
    customer = get_customer(api_user(), data["customer_id"])
    if survey is None or customer is None:
        unprocessable(ValidationError({"survey_id" if survey is None else "customer_id": ["Not found."]}))
    try:
        invitation = services.send_survey(survey, customer, staff_id=api_user().id)
    except ValidationError as err:
        unprocessable(err)
    if invitation is None:
        return {}, 200
    return invitation


def _dump(found):
    answers = services.answers_of([r.id for r in found])
    names = [n for n in SurveyResponseSchema().fields if n != "answers"]
    return [{**{n: getattr(r, n) for n in names}, "answers": answers[r.id]} for r in found]


@responses_blp.route("")
@responses_blp.arguments(SurveyResponseArgs, location="query")
@responses_blp.response(200, SurveyResponsePageSchema)
@requires("surveys.view")
def list_responses(args):
    """Answers newest first, of the stores the token's user sees; page with `after` = `next_after`."""
    found = services.responses(survey_id=args["survey_id"], customer_id=args["customer_id"], user=api_user(),
                               after_id=args["after"], limit=args["per_page"] + 1)
    more = len(found) > args["per_page"]
    found = found[:args["per_page"]]
    return {"items": _dump(found), "next_after": found[-1].id if more else None}


@responses_blp.route("/<int:response_id>")
@responses_blp.response(200, SurveyResponseSchema)
@requires("surveys.view")
def get_response(response_id):
    response = services.get_response(api_user(), response_id)
    if response is None:
        abort(404)
    return _dump([response])[0]
