"""The catalog to and from spreadsheets: an ImportMapping for the core's import engine (upsert by SKU) and an
XLSX export with the same headers, so an exported file imports back unchanged."""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import func, select

from ..extensions import db
from ..spreadsheets import csv_row, xlsx_row
from . import services
from .models import Brand, CatalogItem, Category
from .schemas import ItemSchema

KIND_WORDS = {"产品": "product", "商品": "product", "服务": "service", "工时": "service", "配件": "part",
              "辅材": "part", "备件": "part", "套餐": "package", "product": "product", "service": "service",
              "labour": "service", "part": "part", "package": "package"}
YES = {"是", "y", "yes", "true", "1", "✓"}

# header as spreadsheets spell it -> field (compared without case, spaces and punctuation by the engine)
COLUMNS = {"SKU": "sku", "编码": "sku", "商品编码": "sku", "货号": "sku", "名称": "name", "商品名称": "name", "name": "name",
           "类型": "kind", "kind": "kind", "品牌": "brand", "brand": "brand", "分类": "category", "category": "category",
           "单位": "unit", "unit": "unit", "标价": "list_price", "售价": "list_price", "价格": "list_price",
           "list price": "list_price", "price": "list_price", "成本": "cost", "cost": "cost", "税率": "tax_rate",
           "tax rate": "tax_rate", "序列号管理": "serial_tracked", "serial tracked": "serial_tracked",
           "启用": "active", "active": "active", "描述": "description", "description": "description"}
FIELDS = {"sku": _l("SKU"), "name": _l("Name"), "kind": _l("Kind"), "brand": _l("Brand"), "category": _l("Category"),
          "unit": _l("Unit"), "list_price": _l("List price"), "cost": _l("Cost"), "tax_rate": _l("Tax rate"),
          "serial_tracked": _l("Serial numbers"), "active": _l("Active"), "description": _l("Description")}
EXPORT_HEADERS = ("SKU", "名称", "类型", "品牌", "分类", "单位", "标价", "成本", "税率", "序列号管理", "启用", "描述")


class CatalogImportRow(Schema):
    """One spreadsheet row: Chinese or English kind words, "13%" or 0.13 for the tax rate, 是/否 for flags."""

    class Meta:
        unknown = EXCLUDE

    sku = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(load_default="product")
    brand = fields.String(load_default=None)
    category = fields.String(load_default=None, validate=validate.Length(max=80))
    unit = fields.String(load_default=None)
    list_price = fields.String(load_default="0")
    cost = fields.String(load_default="0")
    tax_rate = fields.String(load_default="0")
    serial_tracked = fields.String(load_default="")
    active = fields.String(load_default="是")
    description = fields.String(load_default=None)

    @pre_load
    def _strip(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def _kind(word: str) -> str:
    kind = KIND_WORDS.get((word or "").strip().lower())
    if kind is None:
        raise ValidationError({"kind": [_("Use 产品, 服务, 配件 or 套餐 (product, service, part, package).")]})
    return kind


def _rate(text: str) -> str:
    text = (text or "0").strip()
    if text.endswith("%"):
        try:
            return str(Decimal(text[:-1].strip()) / 100)
        except InvalidOperation:  # the schema reports it as "not a valid number"
            return text
    return text


def _category(name: str | None) -> int | None:
    if not name:
        return None
    found = db.session.scalar(select(Category.id).where(func.lower(Category.name) == name.lower()).limit(1))
    if found is None:
        found = services.create_category({"name": name, "parent_id": None, "position": 0, "active": True}).id
    return found


def upsert(user, row: dict) -> str:
    """Create the row's item or update the one with its SKU; field errors refuse the row (nothing of it kept)."""
    payload = {"sku": row["sku"], "name": row["name"], "kind": _kind(row.get("kind")), "unit": row.get("unit"),
               "list_price": row.get("list_price") or "0", "cost": row.get("cost") or "0",
               "tax_rate": _rate(row.get("tax_rate")), "description": row.get("description"),
               "serial_tracked": (row.get("serial_tracked") or "").lower() in YES,
               "active": (row.get("active") or "是").lower() in YES, "brand": row.get("brand") or None}
    data = ItemSchema().load(payload)
    existing = services.item_by_sku(data["sku"])
    data["category_id"] = _category(row.get("category")) if row.get("category") else \
        (existing.category_id if existing else None)
    if existing is None:
        services.create_item(user, data)
        return "created"
    if not row.get("brand"):
        data["brand_id"] = existing.brand_id
    data["custom"] = None  # custom values are kept: the sheet does not carry them
    services.update_item(user, existing, data)
    return "updated"


def _rows():
    brands = dict(db.session.execute(select(Brand.id, Brand.name)).all())
    categories = dict(db.session.execute(select(Category.id, Category.name)).all())
    words = {"product": "产品", "service": "服务", "part": "配件", "package": "套餐"}
    # all at once, not yield_per: a server-side cursor does not survive transaction pooling (docs/deployment.md)
    for item in db.session.scalars(select(CatalogItem).order_by(CatalogItem.sku)).all():
        yield [item.sku, item.name, words[item.kind], brands.get(item.brand_id, ""),
               categories.get(item.category_id, ""), item.unit or "", format(item.list_price, "f"),
               format(item.cost.normalize(), "f"), format(item.tax_rate.normalize(), "f"),
               "是" if item.serial_tracked else "否", "是" if item.active else "否", item.description or ""]


def to_xlsx() -> bytes:
    """Every item (active or not) with the import's headers, by SKU."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Catalog"))
    sheet.append(xlsx_row(sheet, list(EXPORT_HEADERS)))
    for row in _rows():
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv() -> bytes:
    """The same as CSV (UTF-8 with BOM, which Excel opens correctly in Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(list(EXPORT_HEADERS)))
    writer.writerows(csv_row(row) for row in _rows())
    return ("\ufeff" + out.getvalue()).encode("utf-8")
