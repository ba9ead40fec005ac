"""What a tenant gets the first time it switches car audio on (never again: re-enabling keeps the tenant's edits).

Field presets (music preference, budget, brands) come from `register_field_presets`. Here: the catalog (categories,
sample brands and products, the 入门/中端/高端 packages, labour) through the catalog services, the installation
service type for bookings, the satisfaction survey, the core's quote approval by amount (if the tenant has none),
and the rules: one-year check-up, birthday greeting (with a coupon where the retail module offers one), VIP at
20,000 lifetime spend."""
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (catalog_categories, copy_workflow_template, create_catalog_category,
                          create_catalog_item, create_survey, db, find_item_by_sku, rule_action_available, save_rule,
                          save_service_type, set_package_components, workflow_definition)

from .services import SERVICE_NAME, SURVEY_NAME

CATEGORIES = ("扬声器", "功放", "DSP", "低音炮", "隔音", "辅材", "工时")

# sku, name, brand, category, kind, price, serial-tracked
ITEMS = (
    ("CA-SPK-FOCAL-165", "Focal 6.5寸两分频套装", "Focal", "扬声器", "product", "3280", True),
    ("CA-SPK-HERTZ-165", "Hertz 6.5寸两分频套装", "Hertz", "扬声器", "product", "2380", True),
    ("CA-SPK-MOREL-3W", "Morel 三分频套装", "Morel", "扬声器", "product", "8800", True),
    ("CA-AMP-HELIX-4", "Helix 四路功放", "Helix", "功放", "product", "3680", True),
    ("CA-AMP-FOCAL-4", "Focal 四路功放", "Focal", "功放", "product", "4200", True),
    ("CA-DSP-HELIX-8", "Helix 八路DSP功放", "Helix", "DSP", "product", "5980", True),
    ("CA-DSP-AUDISON-BIT", "Audison bit One HD DSP", "Audison", "DSP", "product", "6800", True),
    ("CA-SUB-JL-10", "JL Audio 10寸低音炮", "JL Audio", "低音炮", "product", "2680", True),
    ("CA-DEAD-STP-DOOR", "STP 四门隔音", "STP", "隔音", "part", "1680", False),
    ("CA-DEAD-STP-FULL", "STP 全车隔音", "STP", "隔音", "part", "4800", False),
    ("CA-WIRE-KIT", "发烧级线材套装", "Audison", "辅材", "part", "680", False),
    ("CA-LAB-INSTALL", "安装工时", None, "工时", "service", "200", False),
    ("CA-LAB-TUNE", "DSP调音工时", None, "工时", "service", "500", False),
)

PACKAGES = (
    ("CA-PKG-ENTRY", "入门套餐：前声场升级", (("CA-SPK-HERTZ-165", 1), ("CA-DEAD-STP-DOOR", 1), ("CA-WIRE-KIT", 1),
                                            ("CA-LAB-INSTALL", 2))),
    ("CA-PKG-MID", "中端套餐：前声场+DSP调音", (("CA-SPK-FOCAL-165", 1), ("CA-DSP-HELIX-8", 1),
                                             ("CA-DEAD-STP-DOOR", 1), ("CA-WIRE-KIT", 1), ("CA-LAB-INSTALL", 4),
                                             ("CA-LAB-TUNE", 1))),
    ("CA-PKG-HIGH", "高端套餐：三分频+功放+低音炮", (("CA-SPK-MOREL-3W", 1), ("CA-AMP-FOCAL-4", 1),
                                                ("CA-DSP-AUDISON-BIT", 1), ("CA-SUB-JL-10", 1), ("CA-DEAD-STP-FULL", 1),
                                                ("CA-WIRE-KIT", 1), ("CA-LAB-INSTALL", 8), ("CA-LAB-TUNE", 2))),
)

SURVEY_QUESTIONS = (
    {"code": "timeliness", "label_zh": "及时性", "label_en": "Timeliness"},
    {"code": "expertise", "label_zh": "技师专业度", "label_en": "Technician's expertise"},
    {"code": "attitude", "label_zh": "服务态度", "label_en": "Service attitude"},
    {"code": "sound", "label_zh": "音效满意度", "label_en": "Sound quality"},
)


def seed():
    seed_catalog()
    seed_service()
    seed_survey()
    seed_workflow()
    seed_rules()


def seed_catalog():
    from storecrm.sdk import AUTOMATION
    existing = {c.name: c for c in catalog_categories()}
    for n, name in enumerate(CATEGORIES):
        if name not in existing:
            existing[name] = create_catalog_category({"name": name, "position": 100 + n})
    for sku, name, brand, category, kind, price, serial in ITEMS:
        if find_item_by_sku(sku) is None:
            create_catalog_item(AUTOMATION, {"kind": kind, "sku": sku, "name": name, "brand": brand,
                                             "category_id": existing[category].id, "list_price": price,
                                             "unit": "项" if kind == "service" else "套",
                                             "serial_tracked": serial})
    for sku, name, components in PACKAGES:
        if find_item_by_sku(sku) is None:
            total = sum(float(next(i[5] for i in ITEMS if i[0] == c)) * q for c, q in components)
            package = create_catalog_item(AUTOMATION, {"kind": "package", "sku": sku, "name": name, "unit": "套",
                                                       "list_price": f"{total:.2f}"})
            set_package_components(package, [{"component_id": find_item_by_sku(c).id, "quantity": q}
                                             for c, q in components])


def seed_service():
    from storecrm.sdk import ServiceType
    if db.session.scalar(select(ServiceType).where(ServiceType.name == SERVICE_NAME)) is None:
        save_service_type({"name": SERVICE_NAME, "duration_minutes": 240, "buffer_minutes": 30,
                                 "required_skills": {}, "needs_staff": True, "resource_kind": "bay",
                                 "min_notice_minutes": 0, "max_days_ahead": 60, "public": False, "active": True})


def seed_survey():
    from storecrm.sdk import Survey
    if db.session.scalar(select(Survey).where(Survey.name == SURVEY_NAME)) is None:
        create_survey({"name": SURVEY_NAME, "kind": "csat", "questions": list(SURVEY_QUESTIONS), "low_score": 3,
                       "escalation_hours": 24, "expires_days": 14, "throttle_days": 0,
                       "message": "感谢您选择我们的汽车音响改装服务，请花一分钟为本次施工打分：{link}",
                       "ask_comment": True})


def seed_workflow():
    """The core's quote approval by amount tiers, unless the tenant already approves quotes its own way."""
    if workflow_definition("quote") is None:
        copy_workflow_template(None, "sales_quote_approval")


def _rule(data):
    try:
        with db.session.begin_nested():
            save_rule(data)
    except ValidationError:
        # a rule the tenant's engine cannot take (a field it lacks) is skipped, not a failed enable
        import logging
        logging.getLogger(__name__).warning("car_audio: rule %s not seeded", data.get("name"), exc_info=True)


def seed_rules():
    _rule({"name": _("Audio system one-year check-up"), "entity": "asset", "enabled": True, "run_hour": 9,
           "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
           "conditions": {"field": "type", "op": "eq", "value": "audio_system"},
           "actions": [
               {"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                "body": _("Dear {customer_name}, your car audio system was installed a year ago. Come in for a free "
                          "check-up and re-tune to keep it sounding its best.")},
               {"type": "create_task", "to": "owner", "title": _("Anniversary check-up call: {name}"),
                "due_in_days": 3}]})
    birthday = [{"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                 "body": _("Happy birthday, {customer_name}! A small gift for your car is waiting in the store.")}]
    if rule_action_available("retail.issue_coupon"):
        birthday.append({"type": "plugin", "action": "retail.issue_coupon", "params": {}})
    _rule({"name": _("Birthday greeting"), "entity": "customer", "enabled": True, "run_hour": 9,
           "trigger": {"type": "date", "field": "birthday", "offset_days": 0, "annual": True},
           "actions": birthday})
    _rule({"name": _("VIP at 20,000 lifetime spend"), "entity": "customer", "enabled": True,
           "trigger": {"type": "threshold", "field": "lifetime_spend", "value": 20000},
           "actions": [{"type": "set_level", "level": "VIP"}, {"type": "add_tag", "tag": "VIP"},
                       {"type": "notify", "channel": "in_app", "to": "owner", "subject": _("New VIP: {name}"),
                        "body": _("{name} crossed 20,000 in lifetime spend: offer VIP service or an upgrade.")}]})
