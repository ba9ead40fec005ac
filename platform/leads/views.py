"""Staff pages of leads: my leads (overdue first contacts on top, tap to call), the list, a lead with its history,
follow-ups and status actions, the pipeline board by status, channels (link, iframe snippet, QR code, secret shown
once), campaigns, assignment rules and the funnel. Thin: parse, call the services, render."""
from __future__ import annotations

from datetime import date, timedelta

import segno
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from ..calendar import tenant_currency, tenant_today, tenant_zone
from ..extensions import db
from ..hooks.blocks import lead_panels
from ..stores.services import stores_visible_to
from ..tenancy.models import as_id, get_scoped
from ..users.models import User
from ..validation import mask_phone
from ..web.forms import flash_errors, flatten_errors, form_data, load_form, requires
from ..web.transactions import refuse
from . import merging, services, setup
from .funnel import GROUPS, funnel, stage_funnel, totals
from .models import CHANNEL_KINDS, LOST_REASONS, OPEN, POOLS, REPEAT_MODES, ROUTING_FIELDS, STATUSES, Lead, LeadAssignmentRule, LeadChannel, LeadStage
from .schemas import (LeadHandoverSchema, LeadCampaignSchema, LeadChannelSchema, LeadFollowUpSchema, LeadCreateSchema,
                      LeadPoolReturnSchema, LeadRuleSchema, LeadSettingsSchema, LeadStageSchema)
from .services import (ACTION_LABELS, HISTORY_LABELS, LOST_REASON_LABELS, METHOD_LABELS, POOL_REASON_LABELS,
                       REPEAT_MODE_LABELS, SOURCE_LABELS, STAFF_POOL_REASONS, STATUS_LABELS, label)
from .tokens import form_token
from ..assets.models import Asset
from ..sales.models import Quote

bp = Blueprint("leads", __name__, url_prefix="/leads")

KIND_LABELS = {"web_form": _l("Web form"), "platform": _l("Auto platform"), "show": _l("Auto show / event"),
               "phone": _l("Phone"), "walk_in": _l("Walk-in"), "import": _l("Import"), "api": _l("API"),
               "other": _l("Other")}
STRATEGY_LABELS = {"round_robin": _l("Round robin"), "least_loaded": _l("Fewest open leads"),
                   "weighted": _l("By weight"), "by_field": _l("By model or product (specialists)"),
                   "pool": _l("Into the public pool")}
FIELD_LABELS = {"interest": _l("Model or product of interest"), "region": _l("Region"), "source": _l("Source")}
MAP_ROWS = 6
GROUP_LABELS = {"channel": _l("Channel"), "campaign": _l("Campaign"), "owner": _l("Staff member")}
HOW_LABELS = {"rule": _l("by rule"), "default": _l("to staff on shift"), "fallback": _l("to the rule's fallback"),
              "manager": _l("to the store manager"), "manual": _l("by hand"),
              "claimed": _l("claimed from the public pool"), "reopened": _l("back to its former owner"),
              "handover": _l("handed over")}


def duration(value) -> str:
    """A time in stage as "3 d 4 h" / "5 h 10 min" / "12 min" (translated units)."""
    if value is None:
        return "—"
    minutes = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h", d=days, h=hours)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=mins)
    return _("%(m)s min", m=mins)


@bp.app_template_filter("lead_datetime")
def lead_datetime(value) -> str:
    """A UTC time in the tenant's zone, "2026-12-03 16:02"; the zone is read once per request (lists show many)."""
    if value is None:
        return ""
    if "_lead_zone" not in g:
        g._lead_zone = tenant_zone()
    return value.astimezone(g._lead_zone).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("lead_money")
def lead_money(value) -> str:
    """An amount in the tenant's currency, e.g. "3,000.00 CNY"; a dash for none."""
    return "—" if value is None else f"{value:,.2f} {tenant_currency()}"


@bp.context_processor
def _labels():
    return {"status_label": lambda s: label(STATUS_LABELS, s), "lost_label": lambda s: label(LOST_REASON_LABELS, s),
            "source_label": lambda s: label(SOURCE_LABELS, s), "method_label": lambda s: label(METHOD_LABELS, s),
            "history_label": lambda s: label(HISTORY_LABELS, s), "kind_label": lambda s: label(KIND_LABELS, s),
            "strategy_label": lambda s: label(STRATEGY_LABELS, s), "how_label": lambda s: label(HOW_LABELS, s),
            "pool_reason_label": lambda s: label(POOL_REASON_LABELS, s), "duration": duration,
            "mask_phone": mask_phone,
            "time_in_stage": services.time_in_stage, "statuses": STATUSES, "open_statuses": OPEN}


def _names() -> dict:
    return {"channels": {c.id: c for c in setup.list_channels()},
            "staff": dict(db.session.execute(select(User.id, User.display_name)).all())}


def _lead(lead_id) -> Lead:
    lead = services.get_lead(current_user, lead_id)
    if lead is None:
        abort(404)
    return lead


@bp.get("/mine")
@requires("leads.view")
def mine():
    return render_template("leads/mine.html", leads=services.my_leads(current_user), **_names())


@bp.get("/")
@requires("leads.view")
def index():
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    channel_id = as_id(request.args.get("channel_id"))
    q = (request.args.get("q") or "").strip()[:80] or None
    per_page = 50
    leads = services.list_leads(current_user, status=status, channel_id=channel_id, q=q,
                                overdue=request.args.get("overdue") == "1",
                                after_id=as_id(request.args.get("after_id")), limit=per_page)
    next_after = leads[-1].id if len(leads) == per_page else None
    return render_template("leads/index.html", leads=leads, status=status, channel_id=channel_id, q=q or "",
                           next_after=next_after, **_names())


@bp.get("/board")
@requires("leads.view")
def board():
    """The pipeline: open leads by step (status, and the tenant's stages between contacted and won), then won and
    lost; each card shows its time in the step (a list per step; no drag and drop)."""
    steps = services.pipeline_steps()
    columns = {key: [] for key, _name in steps}
    columns["lost"] = []
    for status in STATUSES:
        for lead in services.list_leads(current_user, status=status, limit=200):
            columns.get(services.step_of(lead), columns["qualified"]).append(lead)  # an inactive stage: qualified
    steps.append(("lost", label(STATUS_LABELS, "lost")))
    stage_names = {int(key.split(":")[1]): name for key, name in steps if key.startswith("stage:")}
    return render_template("leads/board.html", steps=steps, columns=columns, stage_names=stage_names,
                           can_move=current_user.has_permission("leads.work"), **_names())


@bp.route("/new", methods=["GET", "POST"])
@requires("leads.work")
def new():
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        data, errors = load_form(LeadCreateSchema())
        if data is not None:
            try:
                lead, created = services.create_lead(current_user, data, source="staff")
            except ValidationError as err:
                errors = {k: list(v) for k, v in err.messages.items()}
            else:
                if not created:
                    flash(_("This mobile already has an open lead; the enquiry was added to it."), "info")
                return redirect(url_for("leads.show", lead_id=lead.id))
        refuse()
    return render_template("leads/new.html", values=values, errors=errors, stores=stores_visible_to(current_user),
                           channels=setup.list_channels(active_only=True), campaigns=setup.list_campaigns()), \
        422 if errors else 200


@bp.get("/<int:lead_id>")
@requires("leads.view")
def show(lead_id):
    lead = _lead(lead_id)
    staff = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)))
    return render_template("leads/show.html", lead=lead, history=services.history_of(lead), staff_list=staff,
                           merge_candidates=services.merge_candidates(current_user, lead) if lead.is_open else [],
                           actions=[(a, str(ACTION_LABELS[a])) for a, (allowed, _t, _e) in services.TRANSITIONS.items()
                                    if lead.status in allowed and a != "lose"],
                           lost_reasons=[(r, label(LOST_REASON_LABELS, r)) for r in LOST_REASONS],
                           methods=[(m, label(METHOD_LABELS, m)) for m in METHOD_LABELS],
                           channel=get_scoped(LeadChannel, lead.channel_id),
                           campaign=get_scoped(services.LeadCampaign, lead.campaign_id) if lead.campaign_id else None,
                           stages=services.list_stages(active_only=True),
                           stage=get_scoped(LeadStage, lead.stage_id) if lead.stage_id else None,
                           pool_reasons=[(r, label(POOL_REASON_LABELS, r)) for r in STAFF_POOL_REASONS],
                           asset=_asset(lead), quote=_quote(lead), panels=lead_panels(current_user, lead),
                           **_names())


def _asset(lead: Lead):

    return get_scoped(Asset, lead.asset_id) if lead.asset_id else None


def _quote(lead: Lead):

    return get_scoped(Quote, lead.quote_id) if lead.quote_id else None


@bp.post("/<int:lead_id>/status")
@requires("leads.work")
def act(lead_id):
    lead = _lead(lead_id)
    try:
        services.act(current_user, lead, request.form.get("action", ""), reason=request.form.get("lost_reason"),
                     note=(request.form.get("note") or "").strip()[:300] or None)
    except ValidationError as err:
        flash_errors(err)
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/<int:lead_id>/move")
@requires("leads.work")
def move(lead_id):
    """The board's drag and drop (static/js/leads.js posts here): JSON for the script, a redirect to the board with
    a flash message for a plain form post. A move the pipeline does not allow is refused with its reason."""
    lead = _lead(lead_id)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        services.move(current_user, lead, (request.form.get("step") or "")[:40])
    except ValidationError as err:
        refuse()
        message = " ".join(str(m) for ms in err.messages.values() for m in (ms if isinstance(ms, list) else [ms]))
        if wants_json:
            return {"ok": False, "message": message}, 422
        flash(message, "danger")
    else:
        if wants_json:
            return {"ok": True, "step": services.step_of(lead)}
    return redirect(url_for("leads.board"))


@bp.post("/<int:lead_id>/follow-up")
@requires("leads.work")
def follow_up(lead_id):
    lead = _lead(lead_id)
    data, errors = load_form(LeadFollowUpSchema())
    if data is None:
        flash_errors(ValidationError(errors))
    else:
        try:
            services.follow_up(current_user, lead, data)
        except ValidationError as err:
            flash_errors(err)
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/<int:lead_id>/assign")
@requires("leads.work")
def assign(lead_id):
    lead = _lead(lead_id)
    try:
        services.assign(current_user, lead, request.form.get("owner_id"))
    except ValidationError as err:
        flash_errors(err)
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/<int:lead_id>/convert")
@requires("leads.work")
def convert(lead_id):
    lead = _lead(lead_id)
    form = request.form
    asset = None
    if form.get("make_asset"):
        asset = {"name": (form.get("asset_name") or "").strip()[:120] or None, "type": "vehicle",
                 "identifiers": {k: form.get(k, "").strip()[:40] for k in ("vin", "plate") if form.get(k, "").strip()}}
    try:
        customer = services.convert(current_user, lead, asset=asset, quote=bool(form.get("make_quote")))
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("leads.show", lead_id=lead.id))
    flash(_("Converted: the lead is now customer %(name)s.", name=customer.name), "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


# channels and campaigns


def _channel_page(channel: LeadChannel | None, values: dict, errors: dict, new_secret: str | None = None,
                  status: int = 200):
    link = snippet = qr = None
    if channel is not None and channel.id:
        link = url_for("lead_public.form", token=form_token(channel.id), _external=True)
        snippet = (f'<iframe src="{link}" width="100%" height="640" style="border:0;max-width:480px" '
                   f'title="{channel.name}" loading="lazy"></iframe>')
        qr = segno.make(link, error="m").svg_inline(scale=4, dark="#212529")
        inbound_url = url_for("lead_public.inbound_webhook", channel_id=channel.id, _external=True)
    else:
        inbound_url = None
    return render_template("leads/channel.html", channel=channel, values=values, errors=errors, link=link,
                           snippet=snippet, qr=qr, inbound_url=inbound_url, new_secret=new_secret,
                           stores=stores_visible_to(current_user),
                           kinds=[(k, label(KIND_LABELS, k)) for k in CHANNEL_KINDS]), status


@bp.route("/channels", methods=["GET", "POST"])
@requires("leads.setup")
def channels():
    if request.method == "POST":
        data, errors = load_form(LeadChannelSchema())
        if data is not None:
            try:
                channel = setup.save_channel(None, data)
            except ValidationError as err:
                errors = {k: list(v) for k, v in err.messages.items()}
            else:
                return _channel_page(channel, LeadChannelSchema().dump(channel), {}, new_secret=channel.secret)
        refuse()
        return _channel_page(None, request.form.to_dict(), errors, status=422)
    return render_template("leads/channels.html", channels=setup.list_channels(), campaigns=setup.list_campaigns(),
                           values={}, errors={}, kinds=[(k, label(KIND_LABELS, k)) for k in CHANNEL_KINDS])


def _get_channel(channel_id) -> LeadChannel:
    channel = get_scoped(LeadChannel, channel_id)
    if channel is None:
        abort(404)
    return channel


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
@requires("leads.setup")
def channel(channel_id):
    channel = _get_channel(channel_id)
    if request.method == "POST":
        data, errors = load_form(LeadChannelSchema())
        if data is not None:
            try:
                setup.save_channel(channel, data)
            except ValidationError as err:
                errors = {k: list(v) for k, v in err.messages.items()}
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("leads.channel", channel_id=channel.id))
        refuse()
        return _channel_page(channel, request.form.to_dict(), errors, status=422)
    return _channel_page(channel, LeadChannelSchema().dump(channel), {})


@bp.post("/channels/<int:channel_id>/secret")
@requires("leads.setup")
def channel_secret(channel_id):
    channel = _get_channel(channel_id)
    secret = setup.regenerate_secret(channel)
    return _channel_page(channel, LeadChannelSchema().dump(channel), {}, new_secret=secret)


@bp.get("/channels/<int:channel_id>/qr.svg")
@requires("leads.setup")
def channel_qr(channel_id):
    """The form link as an SVG QR code to print on posters and show stands."""
    channel = _get_channel(channel_id)
    link = url_for("lead_public.form", token=form_token(channel.id), _external=True)
    svg = segno.make(link, error="m").svg_inline(scale=10)
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="lead-form-{channel.id}.svg"'})


@bp.post("/campaigns")
@requires("leads.setup")
def campaigns():
    data, errors = load_form(LeadCampaignSchema())
    if data is not None:
        try:
            setup.save_campaign(None, data)
        except ValidationError as err:
            errors = {k: list(v) for k, v in err.messages.items()}
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("leads.channels"))
    refuse()
    return render_template("leads/channels.html", channels=setup.list_channels(), campaigns=setup.list_campaigns(),
                           values={}, errors={}, campaign_values=request.form.to_dict(), campaign_errors=errors,
                           kinds=[(k, label(KIND_LABELS, k)) for k in CHANNEL_KINDS]), 422


# assignment rules


def _rule_page(rule, values, errors, status=200):
    staff = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)))
    pairs = list((values.get("field_map") or {}).items())[:MAP_ROWS]
    pairs += [("", "")] * (MAP_ROWS - len(pairs))
    return render_template("leads/rules.html", rules=setup.list_rules(), rule=rule, values=values, errors=errors,
                           map_rows=pairs, fields=[(f, label(FIELD_LABELS, f)) for f in ROUTING_FIELDS],
                           weights={str(k): v for k, v in (values.get("weights") or {}).items()},
                           cond=_simple_conditions(values.get("conditions")), staff=staff, stores=stores_visible_to(current_user), channels=setup.list_channels(),
                           strategies=[(s, label(STRATEGY_LABELS, s)) for s in STRATEGY_LABELS],
                           staff_names={u.id: u.display_name for u in staff}), status


def _simple_conditions(tree) -> dict:
    """The page's two condition inputs read back from a tree the page wrote ({"all": [interest contains, region
    is]}); a richer tree (from the API) is shown as such and kept unless the inputs are used."""
    out = {"interest": "", "region": "", "other": False}
    for leaf in (tree or {}).get("all", []) if isinstance(tree, dict) else []:
        if leaf.get("field") == "interest" and leaf.get("op") == "contains":
            out["interest"] = leaf.get("value", "")
        elif leaf.get("field") == "region" and leaf.get("op") == "eq":
            out["region"] = leaf.get("value", "")
        else:
            out["other"] = True
    if tree and not isinstance(tree, dict) or (isinstance(tree, dict) and tree and "all" not in tree):
        out["other"] = True
    return out


def _rule_form() -> dict:
    """The rule form as LeadRuleSchema data: weights from weight_<user id>, the value → person map from its rows,
    the condition tree from the "interest contains" and "region is" inputs."""
    data = form_data(LeadRuleSchema())
    data["weights"] = {key.removeprefix("weight_"): value.strip() for key, value in request.form.items()
                       if key.startswith("weight_") and value.strip()}
    data["field_map"] = {request.form.get(f"map_value_{i}", "").strip(): request.form.get(f"map_user_{i}")
                         for i in range(MAP_ROWS)
                         if request.form.get(f"map_value_{i}", "").strip() and request.form.get(f"map_user_{i}")}
    leaves = []
    if request.form.get("cond_interest", "").strip():
        leaves.append({"field": "interest", "op": "contains", "value": request.form["cond_interest"].strip()[:120]})
    if request.form.get("cond_region", "").strip():
        leaves.append({"field": "region", "op": "eq", "value": request.form["cond_region"].strip()[:60]})
    data["conditions"] = {"all": leaves} if leaves else None
    return data


def _save_rule(rule):
    try:
        data, errors = LeadRuleSchema().load(_rule_form()), {}
    except ValidationError as err:
        data, errors = None, flatten_errors(err.messages)
    if data is not None:
        try:
            setup.save_rule(rule, data)
        except ValidationError as err:
            errors = {k: list(v) for k, v in err.messages.items()}
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("leads.rules"))
    refuse()
    values = {**request.form.to_dict(), **{k: v for k, v in _rule_form().items()
                                           if k in ("weights", "field_map", "conditions")}}
    values["staff_ids"] = request.form.getlist("staff_ids")
    return _rule_page(rule, values, errors, 422)


@bp.route("/rules", methods=["GET", "POST"])
@requires("leads.setup")
def rules():
    if request.method == "POST":
        return _save_rule(None)
    return _rule_page(None, {"position": 100, "strategy": "round_robin", "active": True, "staff_ids": []}, {})


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@requires("leads.setup")
def rule(rule_id):
    rule = get_scoped(LeadAssignmentRule, rule_id)
    if rule is None:
        abort(404)
    if request.method == "POST":
        return _save_rule(rule)
    values = LeadRuleSchema().dump(rule)
    return _rule_page(rule, values, {})


@bp.post("/rules/<int:rule_id>/delete")
@requires("leads.setup")
def delete_rule(rule_id):
    rule = get_scoped(LeadAssignmentRule, rule_id)
    if rule is None:
        abort(404)
    setup.delete_rule(rule)
    flash(_("Deleted."), "success")
    return redirect(url_for("leads.rules"))


# funnel


def _day(name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


@bp.get("/funnel")
@requires("leads.view")
def funnel_page():
    today = tenant_today()
    start, end = _day("start", today.replace(day=1)), _day("end", today)
    if end < start or (end - start).days > 366:
        start, end = today.replace(day=1), today
    by = request.args.get("by") if request.args.get("by") in GROUPS else "channel"
    rows = funnel(current_user, start, end, by)
    return render_template("leads/funnel.html", rows=rows, total=totals(rows), start=start, end=end, by=by,
                           stage_rows=stage_funnel(current_user, start, end),
                           groups=[(g, label(GROUP_LABELS, g)) for g in GROUPS],
                           previous=(start - timedelta(days=1)).replace(day=1))


# stages, pool


@bp.post("/<int:lead_id>/stage")
@requires("leads.work")
def move_stage(lead_id):
    lead = _lead(lead_id)
    try:
        services.move_to_stage(current_user, lead, as_id(request.form.get("stage_id")))
    except ValidationError as err:
        flash_errors(err)
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.post("/<int:lead_id>/release")
@requires("leads.work")
def release(lead_id):
    """Give the lead back to the public pool with a reason."""
    lead = _lead(lead_id)
    data, errors = load_form(LeadPoolReturnSchema())
    if data is None:
        flash_errors(ValidationError(errors))
        return redirect(url_for("leads.show", lead_id=lead.id))
    try:
        services.to_pool(current_user, lead, data["reason"], note=data["note"])
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("leads.show", lead_id=lead.id))
    flash(_("The lead is back in the public pool."), "success")
    return redirect(url_for("leads.pool"))


@bp.post("/<int:lead_id>/merge")
@requires("leads.work")
def merge(lead_id):
    lead = _lead(lead_id)
    try:
        merging.merge(current_user, lead, services.get_lead(current_user, as_id(request.form.get("other_id"))))
    except ValidationError as err:
        refuse()
        flash_errors(err)
    else:
        flash(_("Merged."), "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


@bp.route("/handover", methods=["GET", "POST"])
@requires("leads.setup")
def handover():
    """An advisor leaves: a manager hands all their open leads (and follow-up tasks) to one person or the rules."""
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        data, errors = load_form(LeadHandoverSchema())
        if data is not None:
            try:
                given = merging.handover(current_user, data["from_user_id"], data["to_user_id"])
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("%(n)s leads handed over.", n=sum(given.values())), "success")
                return redirect(url_for("leads.handover"))
        refuse()
    staff = list(db.session.scalars(select(User).order_by(User.display_name)))
    counts = services.open_counts()
    return render_template("leads/handover.html", values=values, errors=errors, counts=counts,
                           people=[(u.id, f"{u.display_name} ({counts.get(u.id, 0)})") for u in staff],
                           active=[(u.id, u.display_name) for u in staff if u.active]), 422 if errors else 200


@bp.post("/<int:lead_id>/claim")
@requires("leads.work")
def claim(lead_id):
    lead = _lead(lead_id)
    try:
        services.claim(current_user, lead)
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("leads.pool"))
    flash(_("The lead is yours now."), "success")
    return redirect(url_for("leads.show", lead_id=lead.id))


def _pool_page(values=None, errors=None, status=200):
    settings = services.lead_settings()
    pool = request.args.get("pool") if request.args.get("pool") in POOLS else "open"
    return render_template("leads/pool.html", leads=services.pool_leads(current_user, pool=pool, limit=200),
                           pool=pool, settings=settings, claimed=services.claims_today(current_user),
                           values=values if values is not None else {"pool_after_hours": settings.pool_after_hours,
                                                                     "claims_per_day": settings.claims_per_day,
                                                                     "repeat_mode": settings.repeat_mode,
                                                                     "won_repeat_days": settings.won_repeat_days},
                           repeat_modes=[(m, label(REPEAT_MODE_LABELS, m)) for m in REPEAT_MODES],
                           errors=errors or {}, **_names()), status


@bp.get("/pool")
@requires("leads.view")
def pool():
    """The public pool (公海): leads without owner, masked mobiles, claim within today's limit."""
    return _pool_page()


@bp.post("/settings")
@requires("leads.setup")
def settings():
    data, errors = load_form(LeadSettingsSchema())
    if data is not None:
        services.save_settings(data)
        flash(_("Saved."), "success")
        return redirect(url_for("leads.pool"))
    refuse()
    return _pool_page(request.form.to_dict(), errors, 422)


def _stages_page(values=None, errors=None, status=200):
    return render_template("leads/stages.html", stages=services.list_stages(), values=values or {"position": 100, "active": True},
                           errors=errors or {}), status


@bp.route("/stages", methods=["GET", "POST"])
@requires("leads.setup")
def stages():
    """The tenant's own stages between contacted and won (已邀约, 已到店, 已试驾 …)."""
    if request.method == "POST":
        data, errors = load_form(LeadStageSchema())
        if data is not None:
            try:
                services.save_stage(None, data)
            except ValidationError as err:
                errors = {k: list(v) for k, v in err.messages.items()}
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("leads.stages"))
        refuse()
        return _stages_page(request.form.to_dict(), errors, 422)
    return _stages_page()


@bp.post("/stages/<int:stage_id>")
@requires("leads.setup")
def stage(stage_id):
    stage = get_scoped(LeadStage, stage_id)
    if stage is None:
        abort(404)
    data, errors = load_form(LeadStageSchema())
    if data is None:
        flash_errors(ValidationError(errors))
    else:
        try:
            services.save_stage(stage, data)
        except ValidationError as err:
            flash_errors(err)
        else:
            flash(_("Saved."), "success")
    return redirect(url_for("leads.stages"))
