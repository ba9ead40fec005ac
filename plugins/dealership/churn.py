"""The churn warning's "vehicle not sold" condition (流失预警: no visit for 12 months AND the car is still theirs).

A customer keeps a vehicle while they own (are the current owner of) a live `vehicle` asset that is not marked
sold (the `sold` field preset, 已售出/已转让). A car transferred to its new owner in the core moves its owner, so the
former owner drops out the same way. One EXISTS, used by the sweep in SQL and by events through the same query."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, literal, select

from storecrm.sdk import Asset, FieldPreset, RuleCondition, db

CODE = "dealership.keeps_vehicle"
SOLD = FieldPreset("asset", "sold", _l("Sold or transferred"), "bool")


def _keeps(customer_id):
    return exists().where(Asset.customer_id == customer_id, Asset.type == "vehicle", Asset.deleted_at.is_(None),
                          func.coalesce(Asset.custom[SOLD.code].astext, "false") != "true")


def _wanted(value) -> bool:
    return value not in (False, "false", 0, "0")


def compile_condition(model, value):
    clause = _keeps(model.id)
    return clause if _wanted(value) else ~clause


def evaluate(customer, value) -> bool:
    keeps = bool(db.session.scalar(select(_keeps(literal(customer.id)))))
    return keeps if _wanted(value) else not keeps


def condition() -> RuleCondition:
    return RuleCondition(CODE, _l("Still owns a vehicle not sold"), evaluate, compile_condition)


LEAF = {"plugin": CODE, "value": True}
