"""Which spreadsheet column feeds which field: guessed from headers (中文 or English), saved per tenant and kind.

Targets are {field: (label, recognised headers)}: the customer's below, a plugin record's from its ImportMapping
(imports.mapped)."""
from __future__ import annotations

import hashlib
import re

from flask_babel import lazy_gettext as _l

from ..fields.engine import definitions

TARGETS = {
    "name": (_l("Name"), ("姓名", "客户姓名", "客户名称", "名称", "客户", "name", "customer", "customer name")),
    "mobile": (_l("Mobile"), ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "phone", "tel", "cell")),
    "email": (_l("Email"), ("邮箱", "电子邮箱", "email", "e-mail", "mail")),
    "gender": (_l("Gender"), ("性别", "gender", "sex")),
    "birthday": (_l("Birthday"), ("生日", "出生日期", "birthday", "birth date", "date of birth")),
    "city": (_l("City"), ("城市", "city")),
    "address": (_l("Address"), ("地址", "详细地址", "address")),
    "source": (_l("Source"), ("来源", "渠道", "客户来源", "source", "channel")),
    "level": (_l("Level"), ("等级", "客户等级", "level")),
    "tags": (_l("Tags"), ("标签", "tags", "tag")),
    "notes": (_l("Notes"), ("备注", "说明", "notes", "note", "remark", "remarks")),
    "store": (_l("Store"), ("门店", "所属门店", "店铺", "store", "shop")),
    "plate": (_l("Licence plate"), ("车牌", "车牌号", "车牌号码", "plate", "licence plate", "license plate")),
    "vin": (_l("VIN"), ("车架号", "vin", "车辆识别代号")),
    "wechat": (_l("WeChat id"), ("微信", "微信号", "wechat")),
    "member_no": (_l("Member card number"), ("会员卡号", "会员号", "卡号", "member no", "member number", "card")),
    "serial": (_l("Device serial"), ("序列号", "设备序列号", "serial", "sn")),
}
IDENTITY_FIELDS = ("mobile", "email", "plate", "vin", "wechat", "member_no", "serial")
CUSTOMERS = "customers"  # the kind of a customer import; a plugin record's import has its ImportMapping's code


def norm(header: str) -> str:
    return re.sub(r"[\s_:：*（）()]+", " ", header or "").strip().lower()


def targets() -> dict:
    """Built-in targets plus the tenant's custom fields ("custom:<code>", recognised by either label)."""
    out = dict(TARGETS)
    for d in (d for d in definitions("customer") if d.type not in ("photo", "file")):  # files cannot come in a cell
        out[f"custom:{d.code}"] = (f"{d.label_zh} / {d.label_en}", (norm(d.label_zh), norm(d.label_en), d.code))
    return out


def guess(headers: list[str], known: dict | None = None) -> dict[str, str]:
    """{column index: field} for the headers we recognise among `known` targets (default: the customer's);
    each field used once."""
    out, used = {}, set()
    all_targets = targets() if known is None else known
    for index, header in enumerate(headers):
        key = norm(header)
        for field, (_label, synonyms) in all_targets.items():
            if field not in used and key in synonyms:
                out[str(index)] = field
                used.add(field)
                break
    return out


def signature(headers: list[str]) -> str:
    return hashlib.sha256("\x1f".join(norm(h) for h in headers).encode()).hexdigest()


def clean(mapping: dict, column_count: int, known: dict | None = None) -> dict[str, str]:
    """Keep valid entries: fields among `known` targets (default: the customer's), existing columns, each once."""
    out, used = {}, set()
    known = targets() if known is None else known
    for column, field in (mapping or {}).items():
        if field in known and str(column).isdigit() and int(column) < column_count and field not in used:
            out[str(int(column))] = field
            used.add(field)
    return out
