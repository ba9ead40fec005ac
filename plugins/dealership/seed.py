"""What a tenant gets the first time it switches the dealership on (never again on re-enable): the service kinds
with their scheduling service types and QC checklists, bays in every store, the follow-up surveys and the rules."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from storecrm.sdk import (Rule, ServiceType, Store, Survey, db, ensure_field_presets, save_resource, save_rule,
                          save_service_type)

from . import churn
from .models import ServiceKind
from .sales import seed_sales

SURVEY_CSI, SURVEY_NPS = "dealership.csi", "dealership.nps"


def service_kind_specs():
    """code, name, minutes, resource kind, skills, checklist (code, label)."""
    return [
        ("maintenance", _("Maintenance (保养)"), 60, "bay", {"保养": 1},
         [("oil", _("Oil and filter changed, level correct")), ("fluids", _("Fluids topped up")),
          ("tyres", _("Tyre pressure and tread checked")), ("reset", _("Service reminder reset")),
          ("clean", _("Car clean, covers removed"))]),
        ("repair", _("Repair (维修)"), 120, "lift", {"机修": 2},
         [("fault", _("Reported fault no longer present")), ("test_drive", _("Test drive done")),
          ("codes", _("No fault codes left")), ("torque", _("Fasteners torqued")),
          ("clean", _("Car clean, covers removed"))]),
        ("bodywork", _("Body and paint (钣喷)"), 240, "room", {"钣金": 2, "喷漆": 2},
         [("colour", _("Colour matches")), ("gaps", _("Panel gaps even")), ("finish", _("No runs or dust in paint")),
          ("clean", _("Car clean, covers removed"))]),
        ("inspection", _("Inspection (检测)"), 45, "bay", {"检测": 1},
         [("report", _("Inspection report filled in")), ("photos", _("Findings photographed")),
          ("clean", _("Car clean, covers removed"))]),
    ]


def seed_defaults():
    """Seeded records are tenant data, named once in Chinese (the product's first language), like the core's
    templates."""
    with force_locale("zh_CN"):
        _seed()


def survey_names() -> tuple[str, str]:
    with force_locale("zh_CN"):
        return _("After-sales satisfaction (CSI)"), _("Would you recommend our service? (NPS)")


def _seed():
    for code, name, minutes, resource_kind, skills, checklist in service_kind_specs():
        if db.session.scalar(select(ServiceKind.id).where(ServiceKind.code == code)):
            continue
        service = db.session.scalar(select(ServiceType).where(ServiceType.name == name))
        if service is None:
            service = save_service_type({"name": name, "duration_minutes": minutes, "buffer_minutes": 0,
                                         "required_skills": {}, "needs_staff": False, "resource_kind": resource_kind,
                                         "min_notice_minutes": 60, "max_days_ahead": 30,
                                         "public": code in ("maintenance", "repair", "inspection")})
        db.session.add(ServiceKind(code=code, name=name, service_type_id=service.id, skills=skills,
                                   checklist=[{"code": c, "label": label} for c, label in checklist]))
    for store in db.session.scalars(select(Store).where(Store.active.is_(True))):
        seed_store(store)
    seed_surveys()
    seed_rules()
    seed_sales()
    db.session.flush()


def seed_store(store):
    """Bays of a store: two quick-service bays, two lifts, a paint booth."""
    for name, kind, capacity in ((_("Quick-service bay"), "bay", 2), (_("Lift"), "lift", 2),
                                 (_("Paint booth"), "room", 1)):
        save_resource(None, {"store_id": store.id, "name": name, "kind": kind, "capacity": capacity})


def seed_surveys():
    csi, nps = survey_names()
    if db.session.scalar(select(Survey.id).where(Survey.name == csi)) is None:
        from storecrm.sdk import create_survey

        create_survey({"name": csi, "kind": "csat", "low_score": 2,
                       "escalation_hours": 24, "throttle_days": 0, "questions": [
                           {"code": "advisor", "label_zh": "服务顾问", "label_en": "Service advisor"},
                           {"code": "quality", "label_zh": "维修质量", "label_en": "Repair quality"},
                           {"code": "waiting", "label_zh": "等待时间", "label_en": "Waiting time"},
                           {"code": "facility", "label_zh": "设施", "label_en": "Facilities"}]})
        create_survey({"name": nps, "kind": "nps", "low_score": 6,
                       "escalation_hours": 24, "throttle_days": 0, "questions": [
                           {"code": "recommend", "label_zh": "您有多大可能将我们的服务推荐给朋友或同事？",
                            "label_en": "How likely are you to recommend our service to a friend or colleague?"}]})


def rule_specs():
    vehicle = {"field": "type", "op": "eq", "value": "vehicle"}
    return [
        {"name": _("Maintenance due (5 months or 8,000 km)"), "entity": "asset", "enabled": True, "run_hour": 9,
         "trigger": {"type": "usage", "months": 5, "km": 8000, "offset_days": -30}, "conditions": vehicle,
         "actions": [{"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                      "body": _("{customer_name}, your {name} is due for maintenance within a month. "
                                "Reply or book online.")},
                     {"type": "create_task", "to": "owner", "title": _("Maintenance due: call {name}"),
                      "due_in_days": 2}]},
        {"name": _("Insurance renewal (30 days ahead)"), "entity": "asset", "enabled": True, "run_hour": 9,
         "trigger": {"type": "date", "field": "custom.commercial_insurance_until", "offset_days": -30},
         "conditions": vehicle,
         "actions": [{"type": "create_task", "to": "owner", "title": _("Insurance renewal: {name}"),
                      "due_in_days": 3}]},
        {"name": _("Churn warning (no visit for 12 months)"), "entity": "customer", "enabled": True, "run_hour": 9,
         "trigger": {"type": "inactivity", "days": 365, "kinds": ["visit"]}, "conditions": churn.LEAF,
         "actions": [{"type": "add_tag", "tag": _("Churn warning")},
                     {"type": "create_task", "to": "owner", "title": _("Win back {name}: no visit for a year"),
                      "due_in_days": 7}]},
        {"name": _("Birthday greeting"), "entity": "customer", "enabled": True, "run_hour": 9,
         "trigger": {"type": "date", "field": "birthday", "annual": True},
         "actions": [{"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                      "body": _("Happy birthday, {customer_name}! A free car wash is waiting for you.")}]},
    ]


def seed_rules():
    for spec in rule_specs():
        if db.session.scalar(select(Rule.id).where(Rule.name == spec["name"])) is None:
            save_rule(spec)


def maintenance_rule():
    return db.session.scalar(select(Rule).where(Rule.trigger["type"].astext == "usage",
                                                Rule.trigger["km"].astext == "8000"))


def churn_rule():
    return db.session.scalar(select(Rule).where(Rule.trigger["type"].astext == "inactivity",
                                                Rule.trigger["days"].astext == "365"))


def upgrade(from_version: str | None):
    """A tenant that enabled an older version: what later versions seed on first enable, added where missing —
    demo cars, the 试驾 service and the 已试驾 stage (1.1), the `sold` field and the churn rule's "vehicle not sold"
    condition (1.1). Each step checks before it writes, so running it twice changes nothing."""
    with force_locale("zh_CN"):
        ensure_field_presets([churn.SOLD])
        seed_sales()
        rule = churn_rule()
        if rule is not None and churn.CODE not in str(rule.conditions or {}):
            spec = {k: getattr(rule, k) for k in ("name", "entity", "enabled", "run_hour", "trigger", "actions")}
            conditions = rule.conditions or {}
            spec["conditions"] = {"all": [conditions, churn.LEAF]} if conditions else churn.LEAF
            save_rule(spec, rule)
        db.session.flush()
