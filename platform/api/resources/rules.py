from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from ...audit.services import record
from ...extensions import db
from ...rules import engine, preview
from ...rules.models import Rule
from ...rules.spec import check
from ...tenancy.models import get_scoped
from ..auth import requires
from ..common import unprocessable

blp = Blueprint("api_rules", __name__, url_prefix="/rules",
                description="Automation rules: IF trigger AND conditions THEN actions, with a dry-run preview")


class RuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True)
    entity = fields.String(required=True)
    trigger = fields.Dict(required=True, metadata={"description": "see docs/rules.md"})
    conditions = fields.Dict(load_default=None, allow_none=True)
    actions = fields.List(fields.Dict(), required=True)
    enabled = fields.Boolean(load_default=False)
    run_hour = fields.Integer(load_default=9)
    template = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class FiringSchema(Schema):
    id = fields.Integer()
    rule_id = fields.Integer()
    entity = fields.String()
    record_id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    occurrence = fields.String()
    status = fields.String()
    outcome = fields.List(fields.Dict())
    fired_at = fields.DateTime()


class RecipientSchema(Schema):
    name = fields.String()
    channel = fields.String()
    skipped = fields.String(allow_none=True, metadata={"description": "why the message would not be sent "
                                                                      "(no consent, no address, nobody in the role)"})
    held = fields.String(allow_none=True, metadata={"description": "quiet hours: when it would really go out"})


class PreviewRowSchema(Schema):
    record_id = fields.Integer()
    title = fields.String()
    due = fields.Date(allow_none=True)
    fired = fields.Boolean()
    recipients = fields.List(fields.Nested(RecipientSchema))


class PreviewSchema(Schema):
    total = fields.Integer()
    note = fields.String(allow_none=True)
    rows = fields.List(fields.Nested(PreviewRowSchema))
    forecast_total = fields.Integer()
    forecast_note = fields.String(allow_none=True)
    forecast = fields.List(fields.Nested(PreviewRowSchema), metadata={
        "description": "date, usage and inactivity rules: the records that will fire in the next 30 days, by day"})


class PreviewArgs(Schema):
    days = fields.Integer(load_default=90)


def _rule(rule_id) -> Rule:
    rule = get_scoped(Rule, rule_id)
    if rule is None:
        abort(404)
    return rule


def _preview(rule, days):
    result = preview.run(rule, days=max(1, min(days, 366)))
    titles = result["titles"]
    return {"total": result["total"], "note": result["note"],
            "rows": [{"record_id": r.id, "title": titles.get(r.id, ""), "due": due, "fired": fired,
                      "recipients": people} for r, due, fired, people in result["past"]],
            "forecast_total": result["forecast_total"], "forecast_note": result["forecast_note"],
            "forecast": [{"record_id": r.id, "title": titles.get(r.id, ""), "due": due, "fired": False,
                          "recipients": people} for r, due, people in result["forecast"]]}


@blp.route("")
@blp.response(200, RuleSchema(many=True))
@requires("rules.manage")
def list_rules():
    from sqlalchemy import select

    return list(db.session.scalars(select(Rule).order_by(Rule.id)))


@blp.route("", methods=["POST"])
@blp.arguments(RuleSchema)
@blp.response(201, RuleSchema)
@requires("rules.manage")
def create_rule(data):
    try:
        return engine.save(None, data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/preview", methods=["POST"])
@blp.arguments(RuleSchema)
@blp.arguments(PreviewArgs, location="query")
@blp.response(200, PreviewSchema)
@requires("rules.manage")
def preview_unsaved(data, args):
    """Dry run of a rule that is not saved: who would fire today and over the last `days` days."""
    try:
        cleaned = check(data)
    except ValidationError as err:
        unprocessable(err)
    return _preview(Rule(**cleaned), args["days"])


@blp.route("/<int:rule_id>")
@blp.response(200, RuleSchema)
@requires("rules.manage")
def get_rule(rule_id):
    return _rule(rule_id)


@blp.route("/<int:rule_id>", methods=["PUT"])
@blp.arguments(RuleSchema)
@blp.response(200, RuleSchema)
@requires("rules.manage")
def put_rule(data, rule_id):
    rule = _rule(rule_id)
    try:
        return engine.save(rule, data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:rule_id>", methods=["DELETE"])
@blp.response(204)
@requires("rules.manage")
def delete_rule(rule_id):
    rule = _rule(rule_id)
    record("delete", "rule", rule.id, rule.name)
    db.session.delete(rule)
    engine.forget_rules()


@blp.route("/<int:rule_id>/preview")
@blp.arguments(PreviewArgs, location="query")
@blp.response(200, PreviewSchema)
@requires("rules.manage")
def preview_rule(args, rule_id):
    return _preview(_rule(rule_id), args["days"])


@blp.route("/<int:rule_id>/firings")
@blp.response(200, FiringSchema(many=True))
@requires("rules.manage")
def list_firings(rule_id):
    return engine.firings(_rule(rule_id).id)
