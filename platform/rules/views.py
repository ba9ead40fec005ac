from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from .. import conditions
from ..access.services import list_roles
from ..customers.views import TIMELINE_LABELS
from ..extensions import db
from ..notifications.webhooks import endpoints
from ..tenancy.models import get_scoped
from ..web.forms import flash_errors, flatten_errors, requires
from ..workflow.engine import current_definitions
from . import engine, forms, preview, spec
from .builtins import TEMPLATES
from .models import Rule, RuleFiring

bp = Blueprint("rules", __name__, url_prefix="/automation")


@bp.get("/")
@requires("rules.manage")
def index():
    from sqlalchemy import func, select

    rules = list(db.session.scalars(select(Rule).order_by(Rule.enabled.desc(), Rule.name)))
    counts = dict(db.session.execute(select(RuleFiring.rule_id, func.count()).where(RuleFiring.status != "skipped")
                                     .group_by(RuleFiring.rule_id)).all())
    return render_template("rules/index.html", rules=rules, counts=counts, templates=TEMPLATES,
                           entities=conditions.entities(), triggers=spec.TRIGGERS)


@bp.post("/copy/<code>")
@requires("rules.manage")
def copy(code):
    if code not in TEMPLATES:
        abort(404)
    try:
        rule = engine.copy_template(code)
    except ValidationError as err:
        db.session.rollback()
        flash_errors(err)
        return redirect(url_for("rules.index"))
    flash(_("Rule created from the template, switched off. Preview it, then switch it on."), "success")
    return redirect(url_for("rules.show", rule_id=rule.id))


def _rule_or_404(rule_id) -> Rule:
    rule = get_scoped(Rule, rule_id)
    if rule is None:
        abort(404)
    return rule


@bp.get("/<int:rule_id>")
@requires("rules.manage")
def show(rule_id):
    rule = _rule_or_404(rule_id)
    result = preview.run(rule) if request.args.get("preview") else None
    ent = conditions.entities().get(rule.entity)

    return render_template("rules/show.html", rule=rule, result=result, ent=ent, firings=engine.firings(rule.id),
                           triggers=spec.TRIGGERS, actions=spec.ACTIONS, events=spec.EVENTS, channels=spec.CHANNELS,
                           catalog=conditions.field_catalog(rule.entity) if ent else {},
                           role_labels={r.code: r.label for r in list_roles()})


@bp.post("/<int:rule_id>/switch")
@requires("rules.manage")
def switch(rule_id):
    rule = _rule_or_404(rule_id)
    data = {k: getattr(rule, k) for k in ("name", "entity", "trigger", "conditions", "actions", "run_hour")}
    try:
        engine.save(rule, {**data, "enabled": not rule.enabled})
    except ValidationError as err:  # e.g. a workflow or webhook it uses is gone
        db.session.rollback()
        flash_errors(err)
    else:
        flash(_("Rule switched on.") if rule.enabled else _("Rule switched off."), "success")
    return redirect(url_for("rules.show", rule_id=rule_id))


@bp.route("/new", methods=["GET", "POST"])
@requires("rules.manage")
def new():
    return _editor(None)


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
@requires("rules.manage")
def edit(rule_id):
    return _editor(_rule_or_404(rule_id))


def _editor(rule):
    source = {k: getattr(rule, k) for k in ("name", "entity", "trigger", "conditions", "actions", "enabled",
                                            "run_hour")} if rule else {"entity": request.args.get("entity", "customer")}
    errors = {}
    if request.method == "POST":
        data, errors = forms.from_form(request.form)
        source = data
        if not errors:
            try:
                saved = engine.save(rule, data)
            except ValidationError as err:
                db.session.rollback()
                errors = flatten_errors(err.messages)
            else:
                flash(_("Rule saved."), "success")
                return redirect(url_for("rules.show", rule_id=saved.id, preview=1))

    entity = source.get("entity") if source.get("entity") in conditions.entities() else "customer"
    values = forms.to_form({**source, "entity": entity})
    return render_template("rules/edit.html", rule=rule, values=values, errors=errors, entity=entity,
                           entities=conditions.entities(), catalog=conditions.field_catalog(entity),
                           triggers=spec.TRIGGERS, events=spec.EVENTS, plugin_triggers=spec.plugin_triggers(),
                           actions=spec.ACTIONS, channels=spec.CHANNELS, ops=conditions.OPS, roles=list_roles(),
                           workflows=current_definitions(entity), webhook_endpoints=endpoints(),
                           plugin_actions=spec.plugin_actions(), kinds=spec.INTERACTION_KINDS,
                           kind_labels={k: TIMELINE_LABELS[f"interaction:{k}"] for k in spec.INTERACTION_KINDS},
                           action_count=len(values["actions"]), placeholders=spec.PLACEHOLDERS), (422 if errors else 200)
