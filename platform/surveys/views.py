"""Survey pages: staff define surveys and read answers; customers answer on a tokenized public page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..customers.services import get_customer
from ..extensions import limiter
from ..web.i18n import current_code
from ..web.visitors import public_visitor_response
from ..customers.models import Customer
from ..tenancy.models import get_scoped
from ..web.forms import flatten_errors, requires
from ..activities.services import customer_names
from . import services
from .models import SCALE
from .schemas import SurveySchema

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
public_bp = Blueprint("survey_page", __name__, url_prefix="/survey")


@bp.get("/")
@requires("surveys.view")
def index():
    # ?customer_id=: chosen from a customer's page, each survey on can be sent to them from here
    customer = None
    if current_user.has_permission("surveys.manage") and request.args.get("customer_id", type=int):
        customer = get_customer(current_user, request.args.get("customer_id", type=int))
    return render_template("surveys/index.html", surveys=services.surveys(), kinds=services.KIND_LABELS,
                           templates=services.TEMPLATES, customer=customer)


@bp.post("/from-template")
@requires("surveys.manage")
def from_template():
    code = request.form.get("template", "")
    if code not in services.TEMPLATES:
        abort(400)
    survey = services.create_from_template(code)
    flash(_("Survey %(name)s created.", name=survey.name), "success")
    return redirect(url_for("surveys.edit", survey_id=survey.id))


def _questions_from_form() -> list[dict]:
    """The edit form's rows: code, labels, type, whether required, the options of a reason question (one a line:
    "code | 中文 | English") and the condition (an earlier question, an operator, a value or a comma-separated list
    for "in")."""
    out = []
    for i in range(12):
        field = lambda name: (request.form.get(f"q{i}.{name}") or "").strip()  # noqa: E731
        code, label_zh, label_en = field("code"), field("label_zh"), field("label_en")
        if not (code or label_zh or label_en):
            continue
        question = {"code": code, "label_zh": label_zh, "label_en": label_en, "type": field("type") or "score"}
        if question["type"] == "choice":
            question["options"] = []
            for line in field("options").splitlines()[:12]:
                parts = [p.strip() for p in line.split("|")]
                if parts[0]:
                    question["options"].append({"code": parts[0], "label_zh": parts[1] if len(parts) > 1 else "",
                                                "label_en": parts[2] if len(parts) > 2 else ""})
        if f"q{i}.required_set" in request.form:  # an existing question: the box says it
            question["required"] = f"q{i}.required" in request.form
        elif f"q{i}.required" in request.form:  # a new one ticked; unticked, its type's default
            question["required"] = True
        if field("cond_question"):
            op, raw = field("cond_op") or "eq", field("cond_value")
            value = [v.strip() for v in raw.split(",") if v.strip()] if op == "in" else raw
            question["condition"] = {"question": field("cond_question"), "op": op, "value": value}
        out.append(question)
    return out


@bp.route("/<int:survey_id>/edit", methods=["GET", "POST"])
@requires("surveys.manage")
def edit(survey_id):
    survey = services.get_survey(survey_id)
    if survey is None:
        abort(404)
    errors, values = {}, SurveySchema().dump(survey)
    if request.method == "POST":
        raw = {k: request.form.get(k) for k in ("name", "low_score", "escalation_hours", "expires_days",
                                                 "throttle_days", "reminder_days", "message")
               if request.form.get(k, "") != ""}
        raw.update(kind=survey.kind, questions=_questions_from_form(), ask_comment="ask_comment" in request.form,
                   active="active" in request.form)
        values = {**values, **raw}
        try:
            services.update_survey(survey, SurveySchema().load(raw))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Survey %(name)s saved.", name=survey.name), "success")
            return redirect(url_for("surveys.show", survey_id=survey.id))
    return render_template("surveys/form.html", survey=survey, values=values, errors=errors,
                           scale=SCALE[survey.kind], operators=services.CONDITION_LABELS,
                           required=services.is_required), 422 if errors else 200


@bp.get("/<int:survey_id>")
@requires("surveys.view")
def show(survey_id):
    survey = services.get_survey(survey_id)
    if survey is None:
        abort(404)
    after = request.args.get("after", type=int)
    found = services.responses(survey_id=survey.id, user=current_user, after_id=after, limit=51)
    return render_template("surveys/show.html", survey=survey, responses=found[:50], more=len(found) > 50,
                           answers=services.answers_of([r.id for r in found[:50]]),
                           names=customer_names({r.customer_id for r in found[:50]}),
                           questions=services.question_outline(survey, str(get_locale())))


@bp.post("/<int:survey_id>/send")
@requires("surveys.manage")
def send(survey_id):
    survey = services.get_survey(survey_id)
    customer = get_customer(current_user, request.form.get("customer_id", type=int) or 0)
    if survey is None or customer is None:
        abort(404)
    try:
        invitation = services.send_survey(survey, customer, staff_id=current_user.id)
    except ValidationError as err:
        flash(" ".join(m for ms in flatten_errors(err.messages).values() for m in ms), "danger")
        return redirect(url_for("customers.show", customer_id=customer.id)), 303
    flash(_("Survey sent.") if invitation else _("This customer was asked recently; nothing sent."),
          "success" if invitation else "warning")
    return redirect(url_for("customers.show", customer_id=customer.id))


# --- the public page ----------------------------------------------------------------------------------------------


@public_bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def answer(token):
    """What a customer opens from the SMS: the survey's questions, the store's name, nothing about anyone."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        abort(404)
    if (response := public_visitor_response(get_scoped(Customer, invitation.customer_id))) is not None:
        return response                # inside WeChat: sign in once, the customer's openid is bound
    # customers read Chinese unless they switched the page's language themselves, whatever the staff's default
    with force_locale(session.get("locale") or "zh_CN"):
        return _answer_page(invitation)


def _answer_page(invitation):
    survey = services.get_survey(invitation.survey_id)
    questions = survey.questions_of(invitation.survey_version)  # as it was sent
    locale = current_code()
    if not services.is_open(invitation):
        return render_template("surveys/public_done.html", expired=invitation.answered_at is None), \
            410 if invitation.answered_at is None else 200
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form
        # without JavaScript every question is on the page: the service keeps only those their conditions show
        scores = {q["code"]: services.parse_answer(q, request.form.get(f"score.{q['code']}"))
                  for q in questions}
        try:
            response = services.answer(invitation, scores, request.form.get("comment"))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            if response is None:
                return render_template("surveys/public_done.html", expired=False), 200
            return render_template("surveys/public_done.html", thanks=True, low=response.low)
    store = invitation.store_id and services.store_name(invitation.store_id)
    return render_template("surveys/public.html", survey=survey, questions=questions, store=store, errors=errors,
                           values=values, scale=range(SCALE[survey.kind][0], SCALE[survey.kind][1] + 1),
                           label=lambda q: services.question_label(q, locale),
                           required=services.is_required), 422 if errors else 200
