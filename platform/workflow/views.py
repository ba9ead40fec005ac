from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from marshmallow import ValidationError

from .. import conditions
from ..access.services import list_roles
from ..extensions import db
from ..files.services import accept_upload
from ..users.services import list_users
from ..web.forms import flash_errors, flatten_errors, requires
from . import diagram, engine, forms
from . import spec as specs

bp = Blueprint("workflow", __name__, url_prefix="/workflows")


def panel_context(entity: str, record) -> dict:
    """What the workflow panel on a record's page shows: its items and the workflows it may start."""
    items = engine.items_of(entity, record.id)
    definitions = {item.id: engine.definition_of(item) for item in items}
    specs_by_item = {item_id: d.spec for item_id, d in definitions.items()}
    running = {item.code for item in items if item.finished_at is None}
    return {"wf_items": items, "wf_specs": specs_by_item, "wf_names": {i: d.name for i, d in definitions.items()},
            "wf_entity": entity, "wf_record_id": record.id,
            "wf_startable": [d for d in engine.current_definitions(entity, active_only=True) if d.code not in running]}


# --- staff ------------------------------------------------------------------------------------------------------

@bp.get("/queue")
@login_required
def queue():
    items = engine.queue(current_user)
    definitions = {i.definition_id: engine.definition_of(i) for i in items}
    return render_template("workflow/queue.html", items=items, definitions=definitions, now=engine.utcnow())


@bp.post("/start")
@login_required
def start():
    entity = request.form.get("entity", "")
    rec = engine.visible_record(current_user, entity, request.form.get("record_id"))
    if rec is None:  # only a tampered form names a record this user cannot see
        flash(_("No such record among the ones you may see."), "danger")
        return render_template("workflow/queue.html", items=[], definitions={}, now=engine.utcnow()), 422
    try:
        item = engine.start(current_user, entity, rec, request.form.get("workflow", ""))
    except ValidationError as err:
        flash_errors(err)
        return redirect(request.referrer or url_for("workflow.queue"))
    flash(_("Workflow started."), "success")
    return redirect(url_for("workflow.item", item_id=item.id))


def _item_or_404(item_id):
    item = engine.visible_item(current_user, item_id)
    if item is None:
        abort(404)
    return item


@bp.get("/items/<int:item_id>")
@login_required
def item(item_id, errors=None, status=200):
    item = _item_or_404(item_id)
    definition = engine.definition_of(item)
    rec = engine.record_of(item)
    ent = conditions.entities().get(item.entity)

    catalog = conditions.field_catalog(item.entity) if ent is not None else {}
    return render_template(
        "workflow/item.html", item=item, definition=definition, rec=rec, ent=ent, catalog=catalog,
        state=specs.state(definition.spec, item.state), actions=engine.available(current_user, item, rec) if rec else [],
        history=engine.history(item), labels={s["code"]: s["label"] for s in definition.spec["states"]},
        rejectable=engine.rejectable_states(item) if engine.can_reject(current_user, item) else [],
        awaiting=engine.awaiting(current_user, item), diagram=diagram.render(definition.spec, item.state),
        staff=[u for u in list_users(current_user) if u.active] if current_user.has_permission("workflows.manage")
        or item.assignee_id == current_user.id else [],
        pending_transition=specs.transition(definition.spec, item.pending["transition"]) if item.pending else None,
        role_labels={r.code: r.label for r in list_roles()}, errors=errors or {}, now=engine.utcnow()), status


def _after(item_id, fn):
    """Run an action on the item; on refusal show the page again with the reasons (422), writing nothing."""
    try:
        fn(_item_or_404(item_id))
    except ValidationError as err:
        db.session.rollback()
        return item(item_id, errors=flatten_errors(err.messages), status=422)
    return redirect(url_for("workflow.item", item_id=item_id))


@bp.post("/items/<int:item_id>/move")
@login_required
def move(item_id):
    def act(it):
        file_ids = [accept_upload(current_user, f.filename, f.read(), images_only=True, field="files").id
                    for f in request.files.getlist("files") if f and f.filename]
        values = {k.removeprefix("values."): v for k, v in request.form.items() if k.startswith("values.")}
        engine.move(current_user, it, request.form.get("transition", ""), comment=request.form.get("comment", ""),
                    values=values, files=file_ids)
    return _after(item_id, act)


@bp.post("/items/<int:item_id>/reject")
@login_required
def reject(item_id):
    return _after(item_id, lambda it: engine.reject(current_user, it, request.form.get("to_state", ""),
                                                    request.form.get("reason", "")))


@bp.post("/items/<int:item_id>/vote")
@login_required
def vote(item_id):
    return _after(item_id, lambda it: engine.vote(current_user, it, request.form.get("decision") == "approve",
                                                  request.form.get("comment", "")))


@bp.post("/items/<int:item_id>/assign")
@login_required
def assign(item_id):
    def act(it):
        if not (current_user.has_permission("workflows.manage") or it.assignee_id == current_user.id):
            abort(403)
        engine.assign(current_user, it, request.form.get("assignee_id"))
    return _after(item_id, act)


# --- administration ---------------------------------------------------------------------------------------------

@bp.get("/")
@requires("workflows.manage")
def index():
    return render_template("workflow/index.html", definitions=engine.current_definitions(),
                           templates=engine.templates(), entities=conditions.entities())


@bp.post("/copy/<code>")
@requires("workflows.manage")
def copy(code):
    try:
        definition = engine.copy_template(current_user, code)
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("workflow.index"))
    flash(_("Workflow created from the template. Check it, then use it."), "success")
    return redirect(url_for("workflow.show", code=definition.code))


@bp.get("/<code>")
@requires("workflows.manage")
def show(code):
    definition = engine.current_definition(code)
    if definition is None:
        abort(404)
    version = request.args.get("version", type=int)
    shown = next((v for v in engine.versions(code) if v.version == version), definition) if version else definition

    return render_template("workflow/show.html", definition=shown, current=definition, versions=engine.versions(code),
                           diagram=diagram.render(shown.spec), entities=conditions.entities(),
                           catalog=conditions.field_catalog(shown.entity), role_labels={r.code: r.label for r in list_roles()},
                           labels={s["code"]: s["label"] for s in shown.spec["states"]})


@bp.route("/new", methods=["GET", "POST"])
@requires("workflows.manage")
def new():
    return _editor(None)


@bp.route("/<code>/edit", methods=["GET", "POST"])
@requires("workflows.manage")
def edit(code):
    definition = engine.current_definition(code)
    if definition is None:
        abort(404)
    return _editor(definition)


FIELD_NAMES = {"code": _l("Code"), "label": _l("Label"), "deadline_hours": _l("Deadline (hours)"),
               "escalation": _l("Escalation"), "to": _l("To"), "from": _l("From"), "roles": _l("Who may do it"),
               "required_fields": _l("Required fields"), "condition": _l("Condition"), "approval": _l("Approval"),
               "after_hours": _l("Hours after the deadline"), "role": _l("Role"), "tiers": _l("Tiers"),
               "name": _l("Name"), "initial": _l("First state"), "entity": _l("Record type"), "states": _l("States"),
               "transitions": _l("Actions")}


def error_place(key: str) -> str:
    """"transitions.2.approval.tiers" as "Action 3 · Approval · Tiers" for the list above the editor."""
    parts, out = key.split("."), []
    i = 0
    while i < len(parts):
        part = parts[i]
        if part in ("states", "transitions") and i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(f"{_('State') if part == 'states' else _('Action')} {int(parts[i + 1]) + 1}")
            i += 2
            continue
        if part.isdigit():
            out.append(str(int(part) + 1))
        else:
            out.append(str(FIELD_NAMES.get(part, part)))
        i += 1
    return " · ".join(out)


def _editor(definition):
    entity = definition.entity if definition else request.values.get("entity", "customer")
    if entity not in conditions.entities():
        entity = "customer"
    values = {"name": definition.name if definition else "", "code": definition.code if definition else "",
              "active": definition.active if definition else True}
    form_spec = forms.to_form(definition.spec if definition else None)
    errors = {}
    if request.method == "POST":
        values = {"name": request.form.get("name", "").strip(), "code": request.form.get("code", "").strip(),
                  "active": request.form.get("active") == "on"}
        raw, errors = forms.from_form(request.form)
        if not errors:
            try:
                saved = engine.save_definition(current_user, definition.code if definition else values["code"],
                                               entity, values["name"], raw, active=values["active"],
                                               is_new=definition is None)
            except ValidationError as err:
                db.session.rollback()
                errors = flatten_errors(err.messages)
            else:
                flash(_("Saved as version %(v)s. Items already running keep the version they started with.",
                        v=saved.version), "success")
                return redirect(url_for("workflow.show", code=saved.code))
        form_spec = forms.to_form({**raw, "states": raw["states"], "transitions": raw["transitions"]})
    return render_template("workflow/edit.html", definition=definition, entity=entity, values=values,
                           form_spec=form_spec, errors=errors, roles=list_roles(),
                           catalog=conditions.field_catalog(entity), entities=conditions.entities(),
                           escalations=specs.ESCALATIONS, modes=specs.APPROVAL_MODES,
                           error_place=error_place), (422 if errors else 200)
