"""Running records through workflows: start, move, reject, approvals, deadlines with escalation.

Every change is one WorkflowStep row (who, when, from, to, comment, time spent in the state). A deadline is an
exact-time timer (timers.py) keyed by the item, moved whenever the item changes state, so escalation
fires within a minute of its due time and never for a state the item has already left.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from .. import conditions
from ..access.services import role_label
from ..audit.services import record
from ..events import WorkflowStateEntered, emit
from ..extensions import db
from ..fields.services import ensure_presets
from ..files.models import StoredFile
from ..hooks.runtime import enabled_plugins, host
from ..notifications.services import notify_user
from ..tenancy.context import current_tenant
from ..timers import cancel, handler, schedule
from ..tenancy.models import as_id, current_tenant_row, get_scoped, utcnow
from ..users.models import User
from ..users.services import staff_with_role
from ..validation import finite_number
from . import spec as specs
from .builtins import materialise
from .models import WorkflowDefinition, WorkflowItem, WorkflowStep


class WorkflowError(ValidationError):
    """A refused workflow action; messages are keyed by the form field at fault."""


# --- definitions ------------------------------------------------------------------------------------------------

def current_definitions(entity: str | None = None, *, active_only: bool = False) -> list[WorkflowDefinition]:
    query = select(WorkflowDefinition).where(WorkflowDefinition.is_current.is_(True))
    if entity:
        query = query.where(WorkflowDefinition.entity == entity)
    if active_only:
        query = query.where(WorkflowDefinition.active.is_(True))
    return list(db.session.scalars(query.order_by(WorkflowDefinition.name)))


def current_definition(code: str) -> WorkflowDefinition | None:
    return db.session.scalar(select(WorkflowDefinition).where(WorkflowDefinition.code == code,
                                                              WorkflowDefinition.is_current.is_(True)))


def versions(code: str) -> list[WorkflowDefinition]:
    return list(db.session.scalars(select(WorkflowDefinition).where(WorkflowDefinition.code == code)
                                   .order_by(WorkflowDefinition.version.desc())))


def save_definition(user, code: str, entity: str, name: str, raw_spec: dict, *, active: bool = True,
                    is_new: bool = False) -> WorkflowDefinition:
    """A new version of `code` (version 1 when is_new); items already running keep the version they started with."""
    errors = {}
    if not name or len(name) > 80:
        errors["name"] = [_("Give the workflow a name (up to 80 characters).")]
    try:
        specs.CODE(code or "")
    except ValidationError:
        errors["code"] = [_("Use 1–40 lowercase letters, digits or _, starting with a letter.")]
    ent = conditions.entities().get(entity)
    if ent is None or not ent.workflow:
        errors["entity"] = [_("Choose one of the listed options.")]
    previous = current_definition(code) if code else None
    if is_new and previous is not None:
        errors["code"] = [_("Another workflow already uses this code.")]
    if not is_new and previous is None:
        errors["code"] = [_("No such workflow.")]
    if previous is not None and not is_new and previous.entity != entity:
        errors["entity"] = [_("A workflow's record type cannot change.")]
    if errors:
        raise ValidationError(errors)
    spec = specs.check(entity, raw_spec)
    version = 1
    if previous is not None:
        previous.is_current = False
        version = previous.version + 1
        db.session.flush()
    definition = WorkflowDefinition(code=code, entity=entity, name=name, spec=spec, version=version, active=active,
                                    is_current=True, created_by_id=getattr(user, "id", None))
    db.session.add(definition)
    db.session.flush()
    record("create" if version == 1 else "update", "workflow", definition.id, f"{name} v{version}", after={"spec": spec})
    return definition


# --- items ------------------------------------------------------------------------------------------------------

def items_of(entity: str, record_id: int) -> list[WorkflowItem]:
    """The workflow items running or finished on one record, newest first."""
    return list(db.session.scalars(select(WorkflowItem).where(WorkflowItem.entity == entity,
                                                              WorkflowItem.record_id == record_id)
                                   .order_by(WorkflowItem.finished_at.is_not(None), WorkflowItem.id.desc())))


def definition_of(item: WorkflowItem) -> WorkflowDefinition:
    return db.session.get(WorkflowDefinition, (item.tenant_id, item.definition_id))


def record_of(item: WorkflowItem):
    ent = conditions.entities().get(item.entity)
    return None if ent is None else get_scoped(ent.model, item.record_id)


def visible_item(user, item_id) -> WorkflowItem | None:
    item = get_scoped(WorkflowItem, item_id)
    if item is None or not sees_store(user, item.store_id):
        return None
    return item


def visible_record(user, entity: str, record_id):
    """The live record of `entity` with this id in a store `user` sees, or None (other tenants' ids included)."""
    ent = conditions.entities().get(entity)
    rec = get_scoped(ent.model, record_id) if ent is not None else None
    if rec is None or getattr(rec, "deleted_at", None) is not None or not sees_store(user, ent.store_id(rec)):
        return None
    return rec


def sees_store(user, store_id) -> bool:
    return user.sees_all_stores or store_id is None or store_id in user.store_ids


def start(user, entity: str, rec, code: str) -> WorkflowItem:
    """Start workflow `code` on record `rec` of `entity` as `user`; WorkflowError (a ValidationError) when it cannot start."""
    definition = current_definition(code)
    if definition is None or not definition.active or definition.entity != entity:
        raise WorkflowError({"workflow": [_("Choose one of the listed options.")]})
    running = db.session.scalar(select(WorkflowItem.id).where(
        WorkflowItem.entity == entity, WorkflowItem.record_id == rec.id, WorkflowItem.code == code,
        WorkflowItem.finished_at.is_(None)))
    if running:
        raise WorkflowError({"workflow": [_("This record is already in this workflow.")]})
    ent = conditions.entity(entity)
    item = WorkflowItem(definition_id=definition.id, code=code, entity=entity, record_id=rec.id,
                        store_id=ent.store_id(rec), title=ent.title(rec)[:200], state=definition.spec["initial"],
                        assignee_id=getattr(rec, "owner_id", None) or getattr(user, "id", None))
    db.session.add(item)
    db.session.flush()
    _log(item, "start", user, to_state=item.state)
    arm_deadline(item, definition.spec)
    record("create", "workflow_item", item.id, f"{definition.name}: {item.title}")
    _announce(item, rec)
    return item


def available(user, item: WorkflowItem, rec=None) -> list[dict]:
    """Transitions this user may take now (buttons); transitions whose condition fails are left out."""
    if item.finished_at is not None or item.pending:
        return []
    definition = definition_of(item)
    rec = rec if rec is not None else record_of(item)
    out = []
    for t in definition.spec["transitions"]:
        if item.state in t["from"] and _may(user, t["roles"]) and \
                (not t.get("condition") or conditions.evaluate(item.entity, t["condition"], rec)):
            out.append(t)
    return out


def _may(user, roles) -> bool:
    return not roles or user.role.is_owner or user.role.code in roles


def move(user, item: WorkflowItem, code: str, *, comment: str = "", values: dict | None = None,
         files: list[int] | None = None) -> WorkflowItem:
    """Take transition `code`; fill its required fields from `values`; start its approval if it needs one."""
    definition = definition_of(item)
    t = specs.transition(definition.spec, code)
    rec = record_of(item)
    if t is None or t not in available(user, item, rec):
        raise WorkflowError({"transition": [_("This action is not available now.")]})
    files = _checked_files(files or [])
    if t.get("require_photo") and not files:
        raise WorkflowError({"files": [_("Add at least one photo for this step.")]})
    _fill_required(user, item, rec, t, values or {})
    approval = t.get("approval")
    chain = _approval_chain(approval, item, rec) if approval else []
    if chain:
        item.pending = {"transition": code, "requested_by": user.id, "chain": chain, "step": 0, "votes": [],
                        "n": approval.get("n", 1) if approval["mode"] == "quorum" else 1, "comment": comment,
                        "files": files}
        _log(item, "request", user, transition=code, comment=comment, files=files)
        _notify_approvers(item, chain[0])
        return item
    return _enter(item, t["to"], user, action="move", transition=code, comment=comment, files=files, rec=rec)


def reject(user, item: WorkflowItem, to_state: str, reason: str) -> WorkflowItem:
    """Send the item back to a state it went through, with a mandatory reason."""
    if item.finished_at is not None:
        raise WorkflowError({"to_state": [_("This workflow has finished.")]})
    if not can_reject(user, item):
        raise WorkflowError({"to_state": [_("You may not send this back.")]})
    if not (reason or "").strip():
        raise WorkflowError({"reason": [_("Say why it is sent back.")]})
    if to_state not in rejectable_states(item):
        raise WorkflowError({"to_state": [_("Choose a state this item went through before.")]})
    item.pending = None
    return _enter(item, to_state, user, action="reject", comment=reason.strip())


def rejectable_states(item: WorkflowItem) -> list[str]:
    visited = list(db.session.scalars(select(WorkflowStep.to_state).where(
        WorkflowStep.item_id == item.id, WorkflowStep.to_state.is_not(None)).order_by(WorkflowStep.id)))
    return specs.earlier_states(visited, item.state)


def can_reject(user, item: WorkflowItem) -> bool:
    """Whoever may act on the current state (or approve what is pending), and workflow managers."""
    if item.finished_at is not None:
        return False
    if user.has_permission("workflows.manage"):
        return True
    spec = definition_of(item).spec
    return any(item.state in t["from"] and _may(user, t["roles"]) for t in spec["transitions"])


def assign(user, item: WorkflowItem, assignee_id) -> WorkflowItem:
    assignee = get_scoped(User, assignee_id)
    if assignee is None or not assignee.active:
        raise WorkflowError({"assignee_id": [_("Choose an active staff member.")]})
    before = item.assignee_id
    item.assignee_id = assignee.id
    _log(item, "assign", user, comment=assignee.display_name)
    record("update", "workflow_item", item.id, item.title, before={"assignee_id": before},
           after={"assignee_id": assignee.id})
    return item


# --- approvals --------------------------------------------------------------------------------------------------

def _approval_chain(approval: dict, item, rec) -> list[list[str]]:
    """The steps of role lists still to approve; [] when nothing is needed (an amount below every tier)."""
    if approval["mode"] in ("single", "quorum"):
        return [approval["roles"]]
    from decimal import Decimal

    raw = conditions.value_of(rec, approval["amount_field"])
    try:
        amount = finite_number(raw) if raw not in (None, "") else Decimal(0)
    except ValidationError:  # a value stored before numbers were bounded: below every tier
        amount = Decimal(0)
    chosen = [tier for tier in approval["tiers"] if amount > Decimal(str(tier["above"]))]
    return chosen[-1]["steps"] if chosen else []


def awaiting(user, item: WorkflowItem) -> bool:
    """Whether `user` is asked to vote on the item's pending approval now."""
    pending = item.pending
    if not pending:
        return False
    if any(v["user_id"] == user.id for v in pending["votes"] if v["step"] == pending["step"]):
        return False
    if pending.get("requested_by") == user.id and not user.role.is_owner:
        return False  # nobody approves their own request (owners excepted: a one-person shop)
    return user.role.code in pending["chain"][pending["step"]]  # strictly the step's roles: no skipping a step


def vote(user, item: WorkflowItem, approve: bool, comment: str = "") -> WorkflowItem:
    if not awaiting(user, item):
        raise WorkflowError({"approval": [_("Nothing here awaits your approval.")]})
    if not approve and not (comment or "").strip():
        raise WorkflowError({"comment": [_("Say why you decline.")]})
    pending = dict(item.pending)
    definition = definition_of(item)
    t = specs.transition(definition.spec, pending["transition"])
    _log(item, "approve" if approve else "decline", user, transition=pending["transition"], comment=comment)
    if not approve:
        item.pending = None
        _notify(item, pending["requested_by"], lambda: _("Declined: %(title)s", title=item.title), lambda: comment)
        return item
    pending["votes"] = pending["votes"] + [{"user_id": user.id, "step": pending["step"], "at": utcnow().isoformat()}]
    in_step = [v for v in pending["votes"] if v["step"] == pending["step"]]
    if len(in_step) < pending["n"]:
        item.pending = pending
        return item
    if pending["step"] + 1 < len(pending["chain"]):
        pending["step"] += 1
        item.pending = pending
        _notify_approvers(item, pending["chain"][pending["step"]])
        return item
    item.pending = None

    requester = get_scoped(User, pending["requested_by"])
    return _enter(item, t["to"], requester, action="move", transition=t["code"], comment=pending.get("comment"),
                  files=pending.get("files") or [])


# --- entering a state -------------------------------------------------------------------------------------------

def _enter(item: WorkflowItem, to_state: str, user, *, action: str, transition: str | None = None,
           comment: str | None = None, files=(), rec=None) -> WorkflowItem:
    spec = definition_of(item).spec
    now = utcnow()
    _log(item, action, user, transition=transition, from_state=item.state, to_state=to_state, comment=comment,
         files=list(files), seconds=int((now - item.entered_at).total_seconds()))
    item.state, item.entered_at, item.escalation_step = to_state, now, 0
    item.finished_at = now if specs.state(spec, to_state).get("final") else None
    db.session.flush()
    arm_deadline(item, spec)
    record("update", "workflow_item", item.id, f"{item.title}: {to_state}")
    _announce(item, rec if rec is not None else record_of(item))
    return item


def _announce(item: WorkflowItem, rec) -> None:
    """Tell rules (those listening for "state entered" run in this transaction) and plugins."""
    if rec is None:
        return
    emit(WorkflowStateEntered(item, rec))


def arm_deadline(item: WorkflowItem, spec: dict) -> None:
    """Set the item's deadline from its state's `deadline_hours` (counted from `entered_at`) and its timer."""
    key = f"workflow:{item.id}:deadline"
    hours = specs.state(spec, item.state).get("deadline_hours")
    if item.finished_at is not None or not hours:
        item.deadline_at = None
        cancel(key)
        return
    item.deadline_at = item.entered_at + timedelta(hours=hours)
    _schedule_escalation(item, spec, 0)


def _schedule_escalation(item: WorkflowItem, spec: dict, step: int) -> None:
    chain = specs.state(spec, item.state).get("escalation") or [{"after_hours": 0, "action": "remind"}]
    key = f"workflow:{item.id}:deadline"
    if step >= len(chain):
        cancel(key)
        return
    due = item.deadline_at + timedelta(hours=chain[step]["after_hours"])
    schedule(key, "workflow.deadline", due, {"item_id": item.id, "entered_at": item.entered_at.isoformat(),
                                              "step": step})


@handler("workflow.deadline")
def escalate(timer) -> None:
    item = get_scoped(WorkflowItem, timer.payload.get("item_id"))
    if item is None or item.finished_at is not None or item.entered_at.isoformat() != timer.payload.get("entered_at"):
        return  # the item moved on: this deadline no longer applies
    spec = definition_of(item).spec
    step = timer.payload.get("step", 0)
    chain = specs.state(spec, item.state).get("escalation") or [{"after_hours": 0, "action": "remind"}]
    if step >= len(chain):
        return
    action = chain[step]
    label = specs.state(spec, item.state)["label"]

    def title():
        return _("Overdue: %(title)s (%(state)s)", title=item.title, state=label)

    if action["action"] == "remind":
        _notify(item, item.assignee_id, title, lambda: _("This step was due at the deadline."))
    elif action["action"] == "notify_role":
        for user in staff_with_role(action["role"], item.store_id):
            _notify(item, user.id, title, lambda: _("Escalated to you as %(role)s.", role=role_label(action["role"])))
    else:
        target = next(iter(staff_with_role(action["role"], item.store_id)), None)
        if target is not None:
            item.assignee_id = target.id
            _notify(item, target.id, lambda: _("Reassigned to you: %(title)s", title=item.title), title)
    item.escalation_step = step + 1
    _log(item, "escalate", None, comment=action["action"] + (f":{action['role']}" if action.get("role") else ""))
    db.session.flush()
    # the timer row is being fired; the next step gets a timer of its own key so the fired mark stays on this one
    nxt = step + 1
    if nxt < len(chain):
        due = item.deadline_at + timedelta(hours=chain[nxt]["after_hours"])
        schedule(f"workflow:{item.id}:deadline:{item.entered_at.timestamp():.0f}:{nxt}", "workflow.deadline", due,
                 {"item_id": item.id, "entered_at": item.entered_at.isoformat(), "step": nxt})


def _notify(item: WorkflowItem, user_id, title, body=None) -> None:
    """Tell one staff member, in their own language: `title` and `body` are callables run under it."""
    from flask_babel import force_locale

    user = get_scoped(User, user_id) if user_id else None
    if user is not None and user.active:
        with force_locale(user.locale or current_tenant_row().locale):
            notify_user(user, title(), body() if body else None, item_url(item))


def _notify_approvers(item: WorkflowItem, roles: list[str]) -> None:
    for role in roles:
        for user in staff_with_role(role, item.store_id):
            _notify(item, user.id, lambda: _("Approval needed: %(title)s", title=item.title))


def item_url(item: WorkflowItem) -> str:
    from flask import current_app

    return f"{current_app.config['STORECRM'].base_url}/t/{current_tenant().slug}/workflows/items/{item.id}"


# --- history, queue ---------------------------------------------------------------------------------------------

def _log(item, action, user, *, transition=None, from_state=None, to_state=None, comment=None, files=(),
         seconds=None) -> None:
    db.session.add(WorkflowStep(item_id=item.id, action=action, transition=transition,
                                from_state=from_state if from_state is not None else (None if action == "start" else item.state),
                                to_state=to_state, actor_id=getattr(user, "id", None), comment=(comment or None),
                                files=list(files), seconds_in_state=seconds))


def history(item: WorkflowItem) -> list[tuple[WorkflowStep, str | None]]:
    return list(db.session.execute(
        select(WorkflowStep, User.display_name)
        .outerjoin(User, (User.tenant_id == WorkflowStep.tenant_id) & (User.id == WorkflowStep.actor_id))
        .where(WorkflowStep.item_id == item.id).order_by(WorkflowStep.id)))


def queue(user, *, limit: int = 200) -> list[WorkflowItem]:
    """Open items this user should act on: assigned to them, awaiting their approval, or in a state their role
    moves on; overdue first, then by deadline."""
    query = select(WorkflowItem).where(WorkflowItem.finished_at.is_(None))
    if not user.sees_all_stores:
        query = query.where((WorkflowItem.store_id.in_(user.store_ids or [-1])) | WorkflowItem.store_id.is_(None))
    candidates = db.session.scalars(query.order_by(WorkflowItem.deadline_at.asc().nulls_last(), WorkflowItem.id)
                                    .limit(2000)).all()
    definitions = {d.id: d for d in db.session.scalars(select(WorkflowDefinition).where(
        WorkflowDefinition.id.in_({i.definition_id for i in candidates})))} if candidates else {}
    out = []
    for item in candidates:
        spec = definitions[item.definition_id].spec
        mine = item.assignee_id == user.id or awaiting(user, item) or (
            not item.pending and any(item.state in t["from"] and t["roles"] and _may(user, t["roles"])
                                     for t in spec["transitions"]))
        if mine:
            out.append(item)
        if len(out) >= limit:
            break
    return out


def overdue_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(WorkflowItem).where(
        WorkflowItem.assignee_id == user.id, WorkflowItem.finished_at.is_(None),
        WorkflowItem.deadline_at < utcnow())) or 0


def _fill_required(user, item, rec, t: dict, values: dict) -> None:
    """Required fields must be filled on the record; values sent with the action are saved to it first."""
    ent = conditions.entity(item.entity)
    wanted = {f: values.get(f) for f in t.get("required_fields") or [] if values.get(f) not in (None, "")}
    if wanted and ent.update is not None:
        data, custom = {}, dict(getattr(rec, "custom", None) or {})
        for field, value in wanted.items():
            if field.startswith("custom."):
                custom[field.removeprefix("custom.")] = value
            elif not field.startswith("customer."):
                data[field] = value
        if custom != (getattr(rec, "custom", None) or {}):
            data["custom"] = custom
        try:
            ent.update(user, rec, data)
        except ValidationError as err:
            raise WorkflowError({f"values.{k}": v for k, v in err.messages.items()})
    missing = [f for f in t.get("required_fields") or [] if conditions.value_of(rec, f) in (None, "", [])]
    if missing:
        catalog = conditions.field_catalog(item.entity)
        raise WorkflowError({f"values.{f}": [_("Required for this step: %(field)s", field=str(catalog[f][0]))]
                             for f in missing})


def _checked_files(file_ids: list) -> list[int]:
    out = []
    for raw in file_ids[:10]:
        found = get_scoped(StoredFile, as_id(raw))
        if found is None:
            raise WorkflowError({"files": [_("Unknown file.")]})
        out.append(found.id)
    return out


# --- templates --------------------------------------------------------------------------------------------------

def templates() -> dict:
    """code -> contrib.WorkflowDefinition offered by the core and the tenant's enabled plugins."""
    return {t.code: t for t in host().items("register_workflows", enabled_plugins())}


def copy_template(user, template_code: str) -> WorkflowDefinition:
    """The tenant's own editable workflow made from a template (its preset fields created if missing)."""
    template = templates().get(template_code)
    if template is None:
        raise WorkflowError({"template": [_("Choose one of the listed options.")]})
    ensure_presets(template.fields)
    code, n = template.code.replace(".", "_")[:36], 2
    while current_definition(code) is not None:
        code, n = f"{template.code.replace('.', '_')[:36]}_{n}", n + 1
    return save_definition(user, code, template.entity, str(template.label), materialise(template.spec), is_new=True)
