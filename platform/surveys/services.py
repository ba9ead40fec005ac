"""Satisfaction surveys: definitions, sending (through the outbox), the one answer per link, low-score escalation.

Sending: `send_survey` (called by the "send survey" rule action, the API, or staff) writes an invitation holding the
SHA-256 of a random token and queues the SMS (or email) with the link in the same transaction. Answering:
`answer` claims the invitation with a conditional UPDATE (answered_at IS NULL), so of two submissions racing on one
link exactly one wins, and the unique key on responses backs that up. A score at or below the survey's threshold
creates ONE task for the store's manager with a deadline and emits `SurveyAnswered(low=True)`, which rules,
webhooks and plugins hear (storecrm.events).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func, or_, select, true, update

from ..activities.services import create_task
from ..audit.services import record as record_audit
from ..customers.models import Customer
from ..events import SurveyAnswered, emit
from ..extensions import db
from ..notifications.outbox import send
from ..notifications.templates import send_template
from ..stores.models import Store
from ..tenancy.context import current_tenant
from ..tenancy.models import current_tenant_row, get_scoped, utcnow
from ..users.services import default_assignee, staff_with_role
from .models import SCALE, Survey, SurveyAnswer, SurveyInvitation, SurveyResponse

# Escalation tasks are created by the system, like a rule's (audit actor "survey").
SURVEY_USER = SimpleNamespace(id=None, sees_all_stores=True, store_ids=[], active=True, display_name="survey",
                              role=SimpleNamespace(is_owner=True, code="owner"), has_permission=lambda code: True)

DEFAULT_LOW = {"csat": 2, "nps": 6}
CONDITION_LABELS = {"eq": "=", "ne": "≠", "le": "≤", "ge": "≥", "in": _l("is one of")}
KIND_LABELS = {"csat": _l("Satisfaction (CSAT, 1–5 per dimension)"), "nps": _l("Net Promoter Score (NPS, 0–10)")}

TEMPLATES = {
    "csat": {"name": _l("Service satisfaction"), "kind": "csat", "questions": [
        {"code": "advisor", "label_zh": "服务顾问的态度与专业", "label_en": "Your service advisor"},
        {"code": "quality", "label_zh": "施工/维修质量", "label_en": "Quality of the work"},
        {"code": "timeliness", "label_zh": "按时交付", "label_en": "Done on time"},
        {"code": "facility", "label_zh": "门店环境与设施", "label_en": "The store and its facilities"}]},
    "nps": {"name": _l("Would you recommend us?"), "kind": "nps", "questions": [
        {"code": "recommend", "label_zh": "您有多大可能把我们推荐给朋友或同事?",
         "label_en": "How likely are you to recommend us to a friend or colleague?"}]},
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def question_label(question: dict, locale: str | None) -> str:
    zh, en = question.get("label_zh") or "", question.get("label_en") or ""
    return (zh or en) if (locale or "zh").startswith("zh") else (en or zh)


def question_outline(survey: Survey, locale: str | None) -> list[dict]:
    """The survey's questions as staff read them: label, type, whether required, options and the condition under
    which it is shown, in words ("shown when “Overall” ≤ 3"), labels in `locale`."""
    by_code = {q["code"]: q for q in survey.questions or []}
    out = []
    for q in survey.questions or []:
        item = {"code": q["code"], "label": question_label(q, locale), "required": is_required(q),
                "type": _("Reason categories") if question_type(q) == "choice" else _("Score"),
                "options": [question_label(o, locale) for o in q.get("options") or []], "condition": None}
        condition = q.get("condition")
        if condition and condition.get("question") in by_code:
            target = by_code[condition["question"]]
            values = condition["value"] if isinstance(condition["value"], list) else [condition["value"]]
            if question_type(target) == "choice":
                names = {o["code"]: question_label(o, locale) for o in target.get("options") or []}
                values = [names.get(str(v), str(v)) for v in values]
            item["condition"] = _("shown when “%(question)s” %(op)s %(values)s",
                                  question=question_label(target, locale),
                                  op=CONDITION_LABELS.get(condition["op"], condition["op"]),
                                  values="、".join(map(str, values)))
        out.append(item)
    return out


# --- definitions ---------------------------------------------------------------------------------------------------


def surveys(*, active_only: bool = False) -> list[Survey]:
    query = select(Survey).order_by(Survey.active.desc(), Survey.id)
    return list(db.session.scalars(query.where(Survey.active.is_(True)) if active_only else query))


def get_survey(survey_id) -> Survey | None:
    return get_scoped(Survey, survey_id)


def _tidy(questions: list[dict]) -> list[dict]:
    """Questions as stored: a score question without condition keeps the old shape {code, label_zh, label_en}."""
    out = []
    for q in questions:
        item = {"code": q["code"], "label_zh": q.get("label_zh") or "", "label_en": q.get("label_en") or ""}
        kind = q.get("type") or "score"
        if kind != "score":
            item["type"] = kind
            item["options"] = [{"code": o["code"], "label_zh": o.get("label_zh") or "",
                                "label_en": o.get("label_en") or ""} for o in q.get("options") or []]
        required = q.get("required")
        if required is not None and required != (kind == "score"):
            item["required"] = bool(required)
        if q.get("condition"):
            c = q["condition"]
            item["condition"] = {"question": c["question"], "op": c["op"], "value": c["value"]}
        out.append(item)
    return out


def question_type(question: dict) -> str:
    return question.get("type") or "score"


def is_required(question: dict) -> bool:
    """Must be answered when shown: scores unless marked optional, reason categories only when marked required."""
    required = question.get("required")
    return (question_type(question) == "score") if required is None else bool(required)


def condition_met(condition: dict | None, given: dict) -> bool:
    """Whether a question with `condition` is shown, given the answers so far {code: score or option code} (a
    condition on an unanswered or hidden question is not met). The page's JavaScript (static/js/surveys.js) applies
    the same rules while the customer answers; this decides on submit."""
    if not condition:
        return True
    answer = given.get(condition["question"])
    if answer is None:
        return False
    op, value = condition["op"], condition["value"]
    if op == "in":
        return answer in (value if isinstance(value, list) else [value])
    if op == "eq":
        return answer == value
    if op == "ne":
        return answer != value
    if not isinstance(answer, int) or not isinstance(value, int):
        return False
    return answer <= value if op == "le" else answer >= value


def shown_questions(questions: list[dict], answers: dict) -> list[dict]:
    """The questions shown to a customer who gave `answers`: conditions refer only to earlier questions, so one pass
    in order decides; the answer to a hidden question does not count for later conditions."""
    shown, given = [], {}
    for q in questions:
        if condition_met(q.get("condition"), given):
            shown.append(q)
            if answers.get(q["code"]) is not None:
                given[q["code"]] = answers[q["code"]]
    return shown


def _check_questions(questions: list[dict], kind: str, errors: dict) -> None:
    """Options and conditions: a condition refers to an EARLIER question (so no cycle can exist), with an operator
    and values that fit that question."""
    low, high = SCALE[kind]
    seen: dict[str, dict] = {}
    for i, q in enumerate(questions):
        options = q.get("options") or []
        if question_type(q) == "choice":
            if not options:
                errors[f"questions.{i}.options"] = [_("A reason question needs at least one option.")]
            elif len({o["code"] for o in options}) != len(options):
                errors[f"questions.{i}.options"] = [_("Two options have the same code.")]
        condition = q.get("condition")
        if condition:
            target = seen.get(condition["question"])
            op, value = condition["op"], condition["value"]
            values = value if isinstance(value, list) else [value]
            if target is None:
                errors[f"questions.{i}.condition"] = [_("A condition can only refer to an earlier question.")]
            elif (op == "in") != isinstance(value, list):
                errors[f"questions.{i}.condition"] = [_("\"in\" takes a list of values, the other operators one.")]
            elif question_type(target) == "score" and not all(
                    isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in values):
                errors[f"questions.{i}.condition"] = [
                    _("Compare with a score from %(low)s to %(high)s.", low=low, high=high)]
            elif question_type(target) == "choice" and (op in ("le", "ge") or not set(map(str, values)) <= {
                    o["code"] for o in target.get("options") or []}):
                errors[f"questions.{i}.condition"] = [_("Compare a reason question with its options (=, ≠ or in).")]
        seen[q["code"]] = q


def _check(data: dict, kind: str) -> None:
    questions = data.get("questions") or []
    errors = {}
    if not questions:
        errors["questions"] = [_("Add at least one question.")]
    elif question_type(questions[0]) != "score":
        errors["questions"] = [_("The first question asks for a score.")]
    elif kind == "nps" and sum(question_type(q) == "score" for q in questions) != 1:
        errors["questions"] = [_("An NPS survey asks exactly one score question.")]
    elif len({q["code"] for q in questions}) != len(questions):
        errors["questions"] = [_("Two questions have the same code.")]
    else:
        _check_questions(questions, kind, errors)
    low, high = SCALE[kind]
    if "low_score" in data and data["low_score"] is not None and not low <= data["low_score"] < high:
        errors["low_score"] = [_("Between %(low)s and %(high)s.", low=low, high=high - 1)]
    if errors:
        raise ValidationError(errors)


def create_survey(data: dict) -> Survey:
    """A new survey from checked data (schemas.SurveySchema): name, kind, questions, thresholds, message."""
    kind = data["kind"]
    _check(data, kind)
    survey = Survey(name=data["name"], kind=kind, questions=_tidy(data["questions"]),
                    low_score=data.get("low_score") if data.get("low_score") is not None else DEFAULT_LOW[kind],
                    escalation_hours=data.get("escalation_hours") or 24, expires_days=data.get("expires_days") or 14,
                    throttle_days=data.get("throttle_days") if data.get("throttle_days") is not None else 30,
                    reminder_days=data.get("reminder_days") if data.get("reminder_days") is not None else 3,
                    message=data.get("message") or None, ask_comment=data.get("ask_comment", True),
                    active=data.get("active", True))
    db.session.add(survey)
    db.session.flush()
    record_audit("create", "survey", survey.id, survey.name)
    return survey


def create_from_template(code: str) -> Survey:
    template = TEMPLATES[code]
    return create_survey({**template, "name": str(template["name"])})


def update_survey(survey: Survey, data: dict) -> Survey:
    """Change a survey; new questions make a new version (answers keep the labels they were given with)."""
    if "kind" in data and data["kind"] != survey.kind:
        raise ValidationError({"kind": [_("A survey's kind cannot change; create a new survey.")]})
    _check({"questions": data.get("questions", survey.questions), "low_score": data.get("low_score")}, survey.kind)
    if "questions" in data and _tidy(data["questions"]) != survey.questions:
        # the links already sent keep their questions: an invitation is answered as it was sent
        survey.past_questions = {**(survey.past_questions or {}), str(survey.version): survey.questions}
        survey.questions = _tidy(data["questions"])
        survey.version += 1
    for key in ("name", "low_score", "escalation_hours", "expires_days", "throttle_days", "reminder_days", "message",
                "ask_comment", "active"):
        if key in data and data[key] is not None:
            setattr(survey, key, data[key])
    db.session.flush()
    record_audit("update", "survey", survey.id, survey.name)
    return survey


# --- sending -------------------------------------------------------------------------------------------------------


def survey_link(token: str) -> str:
    base = current_app.config["STORECRM"].base_url
    return f"{base}/t/{current_tenant().slug}/survey/{token}"


def send_survey(survey: Survey, customer: Customer, *, related: tuple[str, int] | None = None,
                staff_id: int | None = None, store_id: int | None = None) -> SurveyInvitation | None:
    """Invite `customer` to answer `survey` about `related` (kind, id): an invitation and its SMS (or email) in the
    outbox, in the current transaction. None when the customer had this survey within its `throttle_days` or was
    already asked about the same record. ValidationError when the survey is off or the customer has no mobile and
    no email."""
    if not survey.active:
        raise ValidationError({"survey_id": [_("This survey is switched off.")]})
    if customer.deleted_at is not None:
        raise ValidationError({"customer_id": [_("This customer was deleted.")]})
    if not customer.mobile and not customer.email:
        raise ValidationError({"customer_id": [_("The customer has no mobile number or email.")]})
    now = utcnow()
    asked = select(SurveyInvitation.id).where(SurveyInvitation.survey_id == survey.id,
                                              SurveyInvitation.customer_id == customer.id)
    if related is not None and db.session.scalar(asked.where(SurveyInvitation.related_type == related[0],
                                                             SurveyInvitation.related_id == related[1])):
        return None
    if survey.throttle_days and db.session.scalar(asked.where(
            SurveyInvitation.sent_at > now - timedelta(days=survey.throttle_days))):
        return None
    token = secrets.token_urlsafe(24)
    channel = "sms" if customer.mobile else "email"
    invitation = SurveyInvitation(survey_id=survey.id, survey_version=survey.version, customer_id=customer.id,
                                  store_id=store_id or customer.store_id, staff_id=staff_id or customer.owner_id,
                                  related_type=related[0] if related else None,
                                  related_id=related[1] if related else None, token_hash=_hash(token),
                                  channel=channel, sent_at=now, expires_at=now + timedelta(days=survey.expires_days))
    db.session.add(invitation)
    db.session.flush()
    link = survey_link(token)
    store = customer.store.name if customer.store is not None else ""
    address = customer.mobile if channel == "sms" else customer.email
    variables = {"store": store, "link": link}
    # a survey about a service the customer just received is a service message, not marketing (no consent gate)
    if survey.message:  # the survey's own wording; a template-only channel still sends survey.invitation
        with force_locale(current_tenant_row().locale or "zh_CN"):
            subject = _("How did we do?")
        body = survey.message.replace("{link}", link) if "{link}" in survey.message else f"{survey.message} {link}"
        send(channel, address, subject, body, customer=customer, dedupe_key=f"survey:{invitation.id}",
             template="survey.invitation", params=variables)
    else:
        send_template(channel, address, "survey.invitation", variables, customer=customer,
                      dedupe_key=f"survey:{invitation.id}")
    return invitation


def send_reminders(now=None, *, limit: int = 500) -> int:
    """One reminder to each customer who has not answered `reminder_days` after the invitation, while its link is
    open and the survey on: a new link (its token's hash kept beside the first, which keeps working) through the
    outbox. The invitation is claimed with a conditional UPDATE (reminded_at IS NULL), so two sweeps racing send
    one reminder, and never a second one later. Returns how many were queued."""
    now = now or utcnow()
    due = db.session.execute(
        select(SurveyInvitation.id, Survey.id).join(Survey, Survey.id == SurveyInvitation.survey_id)
        .where(SurveyInvitation.answered_at.is_(None), SurveyInvitation.reminded_at.is_(None),
               SurveyInvitation.expires_at > now, Survey.active.is_(True), Survey.reminder_days > 0,
               SurveyInvitation.sent_at + func.make_interval(0, 0, 0, Survey.reminder_days) <= now)
        .order_by(SurveyInvitation.id).limit(limit)).all()
    sent = 0
    for invitation_id, survey_id in due:
        token = secrets.token_urlsafe(24)
        claimed = db.session.execute(
            update(SurveyInvitation).where(SurveyInvitation.id == invitation_id,
                                           SurveyInvitation.reminded_at.is_(None),
                                           SurveyInvitation.answered_at.is_(None))
            .values(reminded_at=now, reminder_token_hash=_hash(token)).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        invitation = get_scoped(SurveyInvitation, invitation_id)
        customer = get_scoped(Customer, invitation.customer_id)
        address = None if customer is None or customer.deleted_at is not None else \
            (customer.mobile if invitation.channel == "sms" else customer.email)
        if not address:  # deleted, or the number was removed since: claimed, nothing to send
            continue
        store = customer.store.name if customer.store is not None else ""
        send_template(invitation.channel, address, "survey.reminder", {"store": store, "link": survey_link(token)},
                      customer=customer, dedupe_key=f"survey-reminder:{invitation.id}")
        sent += 1
    return sent


def send_from_rule(record, params: dict):
    """The "send survey" rule action: the record's customer gets the survey (throttled like any sending)."""
    survey = get_survey(params["survey_id"])
    if survey is None:
        raise ValidationError({"survey_id": [_("No such survey.")]})
    customer = record if isinstance(record, Customer) else \
        get_scoped(Customer, getattr(record, "customer_id", None)) if getattr(record, "customer_id", None) else None
    if customer is None:
        raise ValidationError({"customer_id": [_("This record has no customer to ask.")]})
    related = None if isinstance(record, Customer) else (getattr(record, "__tablename__", "record")[:40], record.id)
    invitation = send_survey(survey, customer, related=related, store_id=getattr(record, "store_id", None))
    return f"invitation {invitation.id}" if invitation is not None else "throttled"


# --- answering -----------------------------------------------------------------------------------------------------


def invitation_for_token(token: str) -> SurveyInvitation | None:
    """The invitation of a link's token in the current tenant, or None (unknown token)."""
    if not token or len(token) > 64:
        return None
    digest = _hash(token)  # the first link, or the reminder's
    return db.session.scalar(select(SurveyInvitation).where(or_(SurveyInvitation.token_hash == digest,
                                                                SurveyInvitation.reminder_token_hash == digest)))


def is_open(invitation: SurveyInvitation) -> bool:
    return invitation.answered_at is None and invitation.expires_at > utcnow()


def parse_answer(question: dict, raw) -> int | str | None:
    """A form field's raw answer to `question`: a score (int) or an option's code (str); None when empty. A value
    that is neither is returned as is, so `answer` reports it on the question."""
    if raw is None or raw == "":
        return None
    if question_type(question) == "choice":
        return str(raw)[:40]
    raw = str(raw).strip()
    return int(raw) if raw.isdigit() and len(raw) <= 2 else raw[:40]


def answer(invitation: SurveyInvitation, scores: dict, comment: str | None) -> SurveyResponse | None:
    """Store the customer's answer ({question code: score, or an option's code for a reason question}) to the
    questions of the version the invitation was sent with; None when the link was answered already or expired
    (nothing is written). Only the questions shown by their conditions count: answers to hidden ones are ignored
    and not stored. ValidationError when a shown required question has no answer, or a shown one a bad answer."""
    survey = get_survey(invitation.survey_id)
    questions = survey.questions_of(invitation.survey_version)
    low, high = SCALE[survey.kind]
    errors, given = {}, {}
    for q in questions:
        value = scores.get(q["code"])
        if value is None:
            pass
        elif question_type(q) == "choice":
            if value not in {o["code"] for o in q.get("options") or []}:
                errors[q["code"]] = [_("Choose one of the listed options.")]
                value = None
        elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[q["code"]] = [_("Choose a score from %(low)s to %(high)s.", low=low, high=high)]
            value = None
        given[q["code"]] = value
    shown = shown_questions(questions, given)
    for q in shown:
        if given[q["code"]] is None and is_required(q) and q["code"] not in errors:
            errors[q["code"]] = [_("Choose a score from %(low)s to %(high)s.", low=low, high=high)
                                 if question_type(q) == "score" else _("Choose one of the listed options.")]
    shown_codes = {q["code"] for q in shown}
    errors = {code: messages for code, messages in errors.items() if code in shown_codes}
    if errors:
        raise ValidationError(errors)
    answered = [q for q in shown if given[q["code"]] is not None]
    now = utcnow()
    claimed = db.session.execute(
        update(SurveyInvitation).where(SurveyInvitation.id == invitation.id, SurveyInvitation.answered_at.is_(None),
                                       SurveyInvitation.expires_at > now)
        .values(answered_at=now).execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return None
    invitation.answered_at = now
    # the first question is an unconditional, required score (checked on save): there is always one
    score = min(given[q["code"]] for q in answered if question_type(q) == "score")
    response = SurveyResponse(invitation_id=invitation.id, survey_id=survey.id, kind=survey.kind,
                              customer_id=invitation.customer_id, store_id=invitation.store_id,
                              staff_id=invitation.staff_id, score=score, low=score <= survey.low_score,
                              comment=(comment or "").strip()[:2000] or None, submitted_at=now)
    db.session.add(response)
    db.session.flush()
    locale = current_tenant_row().locale
    for q in answered:
        value = given[q["code"]]
        if question_type(q) == "choice":
            option = next(o for o in q["options"] if o["code"] == value)
            db.session.add(SurveyAnswer(response_id=response.id, question=q["code"], choice=value,
                                        label=question_label(option, locale)[:120]))
        else:
            db.session.add(SurveyAnswer(response_id=response.id, question=q["code"], score=value,
                                        label=question_label(q, locale)[:120]))
    db.session.flush()
    customer = get_scoped(Customer, invitation.customer_id)
    if response.low:
        response.escalation_task_id = _escalate(survey, response, customer).id
    emit(SurveyAnswered(response, customer, response.low))
    return response


def _escalate(survey: Survey, response: SurveyResponse, customer: Customer):
    """The follow-up of a low score: a task for the store's manager (else the customer's owner), due in the survey's
    escalation hours."""
    managers = staff_with_role("manager", response.store_id)
    assignee = managers[0] if managers else default_assignee(customer.owner_id, response.store_id)
    if assignee is None:
        owners = staff_with_role("owner")
        assignee = owners[0] if owners else None
    if assignee is None:
        raise ValidationError({"assignee_id": ["no active staff member to assign the complaint to"]})
    with force_locale(current_tenant_row().locale or "zh_CN"):
        title = _("Low survey score (%(score)s) from %(name)s: call back", score=response.score, name=customer.name)
        reasons = db.session.scalars(select(SurveyAnswer.label).where(
            SurveyAnswer.response_id == response.id, SurveyAnswer.choice.is_not(None)).order_by(SurveyAnswer.id)).all()
        notes = "\n".join(filter(None, [survey.name, _("Reason: %(reasons)s", reasons="、".join(reasons))
                                         if reasons else None, response.comment]))
    return create_task(SURVEY_USER, {"title": title[:200], "notes": notes, "assignee_id": assignee.id,
                                     "customer_id": customer.id, "priority": "high",
                                     "due_at": utcnow() + timedelta(hours=survey.escalation_hours)},
                       related=("survey_response", response.id))


# --- reading -------------------------------------------------------------------------------------------------------


def responses(*, survey_id: int | None = None, customer_id: int | None = None, user=None,
              after_id: int | None = None, limit: int = 50) -> list[SurveyResponse]:
    """Responses newest first (keyset on id), limited to the stores `user` sees."""
    query = select(SurveyResponse).order_by(SurveyResponse.id.desc()).limit(limit)
    if survey_id is not None:
        query = query.where(SurveyResponse.survey_id == survey_id)
    if customer_id is not None:
        query = query.where(SurveyResponse.customer_id == customer_id)
    if user is not None and not user.sees_all_stores:
        query = query.where(SurveyResponse.store_id.in_(user.store_ids or [-1]))
    if after_id is not None:
        query = query.where(SurveyResponse.id < after_id)
    return list(db.session.scalars(query))


def get_response(user, response_id) -> SurveyResponse | None:
    response = get_scoped(SurveyResponse, response_id)
    if response is None or not (user.sees_all_stores or response.store_id in (user.store_ids or [])):
        return None
    return response


def answers_of(response_ids: list[int]) -> dict[int, list[SurveyAnswer]]:
    out: dict[int, list[SurveyAnswer]] = {i: [] for i in response_ids}
    if response_ids:
        for a in db.session.scalars(select(SurveyAnswer).where(SurveyAnswer.response_id.in_(response_ids))
                                    .order_by(SurveyAnswer.id)):
            out[a.response_id].append(a)
    return out


def store_name(store_id: int) -> str | None:
    """The store's name for the public page (the only thing of the tenant it shows besides the questions)."""
    return db.session.scalar(select(Store.name).where(Store.id == store_id))


def panel_context(customer) -> dict:
    """The customer page's survey box in one query: their last five answers with the survey's name and the scores
    given, and how many invitations still wait for an answer (a row even when there are no answers)."""
    scores = (select(func.coalesce(func.json_agg(func.json_build_object("label", SurveyAnswer.label, "score",
                                                                        SurveyAnswer.score)), func.json_build_array()))
              .where(SurveyAnswer.response_id == SurveyResponse.id).correlate(SurveyResponse).scalar_subquery())
    latest = (select(SurveyResponse.id, SurveyResponse.score, SurveyResponse.low, SurveyResponse.comment,
                     SurveyResponse.submitted_at, Survey.name.label("survey_name"), scores.label("given"))
              .join(Survey, (Survey.tenant_id == SurveyResponse.tenant_id) & (Survey.id == SurveyResponse.survey_id))
              .where(SurveyResponse.customer_id == customer.id).order_by(SurveyResponse.id.desc()).limit(5)
              .lateral("latest"))
    pending = (select(func.count().label("pending")).select_from(SurveyInvitation)
               .where(SurveyInvitation.customer_id == customer.id, SurveyInvitation.answered_at.is_(None),
                      SurveyInvitation.expires_at > utcnow()).subquery("waiting"))
    rows = db.session.execute(select(pending.c.pending, latest).select_from(pending).outerjoin(latest, true())
                              .order_by(latest.c.id.desc())).all()
    return {"responses": [r for r in rows if r.id is not None], "pending": rows[0].pending if rows else 0,
            "customer_id": customer.id}
