from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from ...tenancy.models import utcnow
from ...workflow import cards, engine
from ...workflow import spec as specs
from ...workflow.builtins import materialise
from ..auth import api_user, requires
from ..common import unprocessable

blp = Blueprint("api_workflows", __name__, url_prefix="/workflows",
                description="Workflow definitions (versioned state machines) and the items running through them")
items_blp = Blueprint("api_workflow_items", __name__, url_prefix="/workflow-items",
                      description="Records in workflows: start, take an action, send back, approve or decline")


class DefinitionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    entity = fields.String(load_default="customer")
    version = fields.Integer(dump_only=True)
    active = fields.Boolean(load_default=True)
    spec = fields.Dict(required=True, metadata={"description": "states and transitions, see docs/workflows.md"})
    created_at = fields.DateTime(dump_only=True)


class DefinitionCreateSchema(Schema):
    template = fields.String(load_default=None, metadata={"description": "copy a template instead of sending a spec"})
    code = fields.String(load_default=None)
    name = fields.String(load_default=None)
    entity = fields.String(load_default="customer")
    active = fields.Boolean(load_default=True)
    spec = fields.Dict(load_default=None)


class StepSchema(Schema):
    action = fields.String()
    transition = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    seconds_in_state = fields.Integer(allow_none=True)
    files = fields.List(fields.Integer())
    at = fields.DateTime()


class ItemSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    version = fields.Integer()
    entity = fields.String()
    record_id = fields.Integer()
    title = fields.String(metadata={"description": "the record's title now (a customer's name, an asset's name "
                                                   "with its plate or VIN)"})
    card = fields.List(fields.Dict(), metadata={"description": "the facts the definition's card_fields show, "
                                                                "formatted: [{label, value}]"})
    state = fields.String()
    state_label = fields.String()
    entered_at = fields.DateTime()
    deadline_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    assignee_id = fields.Integer(allow_none=True)
    pending = fields.Dict(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    actions = fields.List(fields.Dict(), metadata={"description": "transitions the caller may take now"})
    history = fields.List(fields.Nested(StepSchema))


class StartSchema(Schema):
    workflow = fields.String(required=True)
    entity = fields.String(required=True)
    record_id = fields.Integer(required=True, strict=False)


class MoveSchema(Schema):
    transition = fields.String(required=True)
    comment = fields.String(load_default="")
    values = fields.Dict(load_default=dict, metadata={"description": "required fields to fill, by field name"})
    files = fields.List(fields.Integer(), load_default=list, metadata={"description": "ids from POST /files"})


class RejectSchema(Schema):
    to_state = fields.String(load_default=None, metadata={"description": "a state the item went through; "
                                                                         "default: the one it came from"})
    reason = fields.String(required=True)


class VoteSchema(Schema):
    approve = fields.Boolean(required=True)
    comment = fields.String(load_default="")


class QueueArgs(Schema):
    entity = fields.String(load_default=None)
    record_id = fields.Integer(load_default=None)


def _definition(code):
    found = engine.current_definition(code)
    if found is None:
        abort(404)
    return found


@blp.route("")
@blp.response(200, DefinitionSchema(many=True))
@requires("workflows.manage")
def list_definitions():
    return engine.current_definitions()


@blp.route("", methods=["POST"])
@blp.arguments(DefinitionCreateSchema)
@blp.response(201, DefinitionSchema)
@requires("workflows.manage")
def create_definition(data):
    """Either `template` (see GET /workflows/templates) or `code`, `name`, `entity` and `spec`."""
    try:
        if data.get("template"):
            return engine.copy_template(api_user(), data["template"])
        return engine.save_definition(api_user(), data.get("code") or "", data["entity"], data.get("name") or "",
                                      data.get("spec") or {}, active=data["active"], is_new=True)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/templates")
@blp.response(200, DefinitionSchema(many=True))
@requires("workflows.manage")
def list_templates():
    return [{"code": t.code, "name": str(t.label), "entity": t.entity, "spec": materialise(t.spec), "active": True}
            for t in engine.templates().values()]


@blp.route("/<code>")
@blp.response(200, DefinitionSchema)
@requires("workflows.manage")
def get_definition(code):
    return _definition(code)


@blp.route("/<code>", methods=["PUT"])
@blp.arguments(DefinitionSchema)
@blp.response(200, DefinitionSchema)
@requires("workflows.manage")
def put_definition(data, code):
    """Saves a new version; items already running keep the version they started with."""
    current = _definition(code)
    try:
        return engine.save_definition(api_user(), current.code, current.entity, data["name"], data["spec"],
                                      active=data["active"])
    except ValidationError as err:
        unprocessable(err)


# --- items ------------------------------------------------------------------------------------------------------

def _out(item, *, full=True, card=None):
    definition = engine.definition_of(item)
    if card is None:
        rec = engine.record_of(item)
        card = {"title": engine.title_of(item, rec), "facts": cards.facts(definition, rec)}
    out = {"id": item.id, "code": item.code, "version": definition.version, "entity": item.entity,
           "record_id": item.record_id, "title": card["title"], "state": item.state,
           "card": [{"label": label, "value": value} for label, value in card["facts"]],
           "state_label": specs.state(definition.spec, item.state)["label"], "entered_at": item.entered_at,
           "deadline_at": item.deadline_at, "assignee_id": item.assignee_id, "pending": item.pending,
           "finished_at": item.finished_at,
           "overdue": bool(item.deadline_at and not item.finished_at and item.deadline_at < utcnow())}
    if full:
        out["actions"] = [{"code": t["code"], "label": t["label"], "to": t["to"],
                           "required_fields": t.get("required_fields") or [], "require_photo": t.get("require_photo"),
                           "approval": bool(t.get("approval"))} for t in engine.available(api_user(), item)]
        out["history"] = [step for step, _name in engine.history(item)]
    return out


def _item(item_id):
    found = engine.visible_item(api_user(), item_id)
    if found is None:
        abort(404)
    return found


@items_blp.route("")
@items_blp.arguments(QueueArgs, location="query")
@items_blp.response(200, ItemSchema(many=True))
@requires("customers.view")
def list_items(args):
    """Without arguments: the caller's queue (assigned, awaiting their approval, or theirs to move), overdue first.
    With `entity` and `record_id`: that record's workflows."""
    if args.get("entity") and args.get("record_id"):
        items = [i for i in engine.items_of(args["entity"], args["record_id"])
                 if engine.sees_store(api_user(), i.store_id)]
    else:
        items = engine.queue(api_user())
    found = cards.cards(items, {i.definition_id: engine.definition_of(i) for i in items})
    return [_out(i, full=False, card=found[i.id]) for i in items]


@items_blp.route("", methods=["POST"])
@items_blp.arguments(StartSchema)
@items_blp.response(201, ItemSchema)
@requires("customers.view")
def start_item(data):
    rec = engine.visible_record(api_user(), data["entity"], data["record_id"])
    if rec is None:
        unprocessable(ValidationError({"record_id": ["No such record among the ones you may see."]}))
    try:
        return _out(engine.start(api_user(), data["entity"], rec, data["workflow"]))
    except ValidationError as err:
        unprocessable(err)


@items_blp.route("/<int:item_id>")
@items_blp.response(200, ItemSchema)
@requires("customers.view")
def get_item(item_id):
    return _out(_item(item_id))


def _act(item_id, fn):
    item = _item(item_id)
    try:
        fn(item)
    except ValidationError as err:
        unprocessable(err)
    return _out(item)


@items_blp.route("/<int:item_id>/transitions", methods=["POST"])
@items_blp.arguments(MoveSchema)
@items_blp.response(200, ItemSchema)
@requires("customers.view")
def move_item(data, item_id):
    """Take an action; if it needs approval the item stays and `pending` shows who must approve."""
    return _act(item_id, lambda it: engine.move(api_user(), it, data["transition"], comment=data["comment"],
                                                values=data["values"], files=data["files"]))


@items_blp.route("/<int:item_id>/reject", methods=["POST"])
@items_blp.arguments(RejectSchema)
@items_blp.response(200, ItemSchema)
@requires("customers.view")
def reject_item(data, item_id):
    """Send the item back to a state it went through; `reason` is required."""
    return _act(item_id, lambda it: engine.reject(api_user(), it, data["to_state"], data["reason"]))


@items_blp.route("/<int:item_id>/votes", methods=["POST"])
@items_blp.arguments(VoteSchema)
@items_blp.response(200, ItemSchema)
@requires("customers.view")
def vote_item(data, item_id):
    """Approve or decline the pending approval (a comment is required to decline)."""
    return _act(item_id, lambda it: engine.vote(api_user(), it, data["approve"], data["comment"]))
