"""Catalog services: items, categories, brands, packages and store prices. The only place that writes them."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import delete, func, or_, select, text

from ..audit.services import record, record_changes, snapshot
from ..customers.services import _escape
from ..extensions import db
from ..fields.engine import defaults, definitions, validate_values
from ..fields.models import FILE_TYPES
from ..keyset import page
from ..stores.models import Store
from ..tenancy.models import as_id, get_scoped
from .models import Brand, CatalogItem, Category, PackageLine, StorePrice

ENTITY = "catalog_item"  # the custom-fields engine's name for items
MAX_PACKAGE_DEPTH = 5


# ---- reading -------------------------------------------------------------------------------------------------

def get_item(item_id) -> CatalogItem | None:
    """The item with this id in the current tenant, or None (another tenant's id, garbage, or nothing)."""
    return get_scoped(CatalogItem, item_id)


def item_by_sku(sku: str) -> CatalogItem | None:
    """The item with this SKU in the current tenant (SKUs compare case-insensitively), or None."""
    if not sku:
        return None
    return db.session.scalar(select(CatalogItem).where(func.lower(CatalogItem.sku) == sku.strip().lower()))


def price_for(item: CatalogItem, store=None) -> Decimal:
    """The item's price at `store` (a Store or its id): the store's own price if it has one, else the list price."""
    store_id = getattr(store, "id", store)
    if store_id is not None:
        override = db.session.scalar(select(StorePrice.price).where(StorePrice.item_id == item.id,
                                                                    StorePrice.store_id == store_id))
        if override is not None:
            return override
    return item.list_price


def store_prices(item: CatalogItem) -> dict[int, Decimal]:
    """Store id -> the store's own price of `item`."""
    return dict(db.session.execute(select(StorePrice.store_id, StorePrice.price).where(StorePrice.item_id == item.id)).all())


def package_lines(package: CatalogItem) -> list[tuple[PackageLine, CatalogItem]]:
    """The package's own lines with their component items, in order (not expanded)."""
    return list(db.session.execute(
        select(PackageLine, CatalogItem)
        .join(CatalogItem, (CatalogItem.tenant_id == PackageLine.tenant_id) & (CatalogItem.id == PackageLine.component_id))
        .where(PackageLine.package_id == package.id).order_by(PackageLine.position, PackageLine.id)))


def expand_package(item: CatalogItem, quantity: Decimal = Decimal("1")) -> list[tuple[CatalogItem, Decimal]]:
    """What `quantity` of `item` is made of, as (item, quantity) pairs for document lines: a package gives its
    components (packages inside it expanded too, quantities multiplied), anything else gives itself."""
    if item.kind != "package":
        return [(item, quantity)]
    out: list[tuple[CatalogItem, Decimal]] = []
    for line, component in package_lines(item):
        out.extend(expand_package(component, quantity * line.quantity))
    return out


def list_items(*, q: str = "", kind: str | None = None, category_id=None, brand_id=None, active: bool | None = True,
               after_id: int | None = None, limit: int = 50, sort: str = "name") -> list[CatalogItem]:
    """Items matching the filters, keyset-paged; `q` matches SKU or name; a category includes its subcategories."""
    query = select(CatalogItem)
    if q.strip():
        pattern = f"%{_escape(q.strip())}%"
        query = query.where(or_(CatalogItem.sku.ilike(pattern), CatalogItem.name.ilike(pattern)))
    if kind:
        query = query.where(CatalogItem.kind == kind)
    if category_id:
        query = query.where(CatalogItem.category_id.in_(subtree_ids(category_id)))
    if brand_id:
        query = query.where(CatalogItem.brand_id == brand_id)
    if active is not None:
        query = query.where(CatalogItem.active.is_(active))
    column, descending = {"name": (CatalogItem.name, False), "sku": (CatalogItem.sku, False),
                          "newest": (CatalogItem.id, True)}.get(sort, (CatalogItem.name, False))
    return list(db.session.scalars(page(query, CatalogItem, column, descending, after_id).limit(limit)))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name, Category.id)))


def category_tree() -> list[tuple[Category, int]]:
    """Every category with its depth, parents before children (for pickers and the categories page)."""
    children: dict[int | None, list[Category]] = {}
    for c in categories():
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Category, int]] = []

    def walk(parent, depth):
        for c in children.get(parent, []):
            out.append((c, depth))
            walk(c.id, depth + 1)
    walk(None, 0)
    return out


def subtree_ids(category_id) -> list[int]:
    """The category and every category under it (one recursive query)."""
    top = select(Category.id).where(Category.id == as_id(category_id)).cte("tree", recursive=True)
    tree = top.union_all(select(Category.id).where(Category.parent_id == top.c.id))
    return list(db.session.scalars(select(tree.c.id)))


def brands() -> list[Brand]:
    return list(db.session.scalars(select(Brand).order_by(Brand.name)))


# ---- writing -------------------------------------------------------------------------------------------------

def brand_named(name: str) -> Brand:
    """The brand of this name (case-insensitive), created if new."""
    name = name.strip()
    brand = db.session.scalar(select(Brand).where(func.lower(Brand.name) == name.lower()))
    if brand is None:
        brand = Brand(name=name)
        db.session.add(brand)
        db.session.flush()
    return brand


def _check(data: dict, item: CatalogItem | None, user) -> dict:
    """Business checks beyond the schema; returns the custom values to store. Raises one ValidationError with all."""
    errors: dict[str, list] = {}
    sku = data.get("sku")
    if sku:
        taken = item_by_sku(sku)
        if taken is not None and (item is None or taken.id != item.id):
            errors["sku"] = [_("Another item already uses this SKU.")]
    if data.get("brand_id") is not None and get_scoped(Brand, data["brand_id"]) is None:
        errors["brand_id"] = [_("Choose one of the listed options.")]
    if data.get("category_id") is not None and get_scoped(Category, data["category_id"]) is None:
        errors["category_id"] = [_("Choose one of the listed options.")]
    if item is not None and item.kind == "package" and data.get("kind") != "package" and package_lines(item):
        errors["kind"] = [_("Remove the package's components before changing its kind.")]
    if data.get("kind") in ("service", "package") and data.get("serial_tracked"):
        errors["serial_tracked"] = [_("Only products and parts have serial numbers.")]
    if item is not None and item.serial_tracked != bool(data.get("serial_tracked")):
        # by table name: storecrm.stock builds on the catalog, so the catalog does not import it
        if db.session.scalar(text("SELECT 1 FROM stock_movements WHERE item_id = :id LIMIT 1"), {"id": item.id}):
            errors["serial_tracked"] = [_("This item has stock movements: serial tracking cannot change now.")]
    custom = {}
    try:
        if item is None:
            custom = validate_values(ENTITY, {**defaults(ENTITY), **(data.get("custom") or {})}, user=user)
        else:
            custom = validate_values(ENTITY, data["custom"], user=user, current=item.custom) \
                if data.get("custom") is not None else item.custom
    except ValidationError as err:
        errors.update({k if k.startswith("custom") else f"custom.{k}": v for k, v in err.messages.items()})
    if errors:
        raise ValidationError(errors)
    return custom


def _apply(item: CatalogItem, data: dict, custom: dict) -> None:
    for key in ("kind", "sku", "name", "category_id", "list_price", "cost", "tax_rate", "description"):
        if key in data:
            setattr(item, key, data[key])
    if data.get("brand"):
        item.brand_id = brand_named(data["brand"]).id
    elif "brand_id" in data:
        item.brand_id = data["brand_id"]
    item.unit = data.get("unit") or ""
    item.serial_tracked = bool(data.get("serial_tracked"))
    item.active = data.get("active", True)
    item.custom = custom


def create_item(user, data: dict) -> CatalogItem:
    """A new catalog item from schema-loaded `data` (ItemSchema); SKU unique per tenant; audited."""
    custom = _check(data, None, user)
    item = CatalogItem()
    _apply(item, data, custom)
    db.session.add(item)
    db.session.flush()
    record("create", "catalog_item", item.id, f"{item.sku} {item.name}", after=snapshot(item))
    return item


def update_item(user, item: CatalogItem, data: dict) -> CatalogItem:
    """Change an item with schema-loaded `data` (the whole item, as the form sends it); audited."""
    custom = _check(data, item, user)
    before = snapshot(item)
    _apply(item, data, custom)
    db.session.flush()
    record_changes("catalog_item", item, before, f"{item.sku} {item.name}")
    return item


def set_store_price(item: CatalogItem, store: Store, price: Decimal | None) -> None:
    """Give `store` its own price for `item`, or (None) go back to the list price there."""
    existing = db.session.scalar(select(StorePrice).where(StorePrice.item_id == item.id, StorePrice.store_id == store.id))
    if price is None:
        if existing is not None:
            db.session.delete(existing)
    elif existing is None:
        db.session.add(StorePrice(item_id=item.id, store_id=store.id, price=price))
    else:
        existing.price = price
    db.session.flush()
    record("update", "catalog_item", item.id, f"{item.sku} @ {store.name}", after={"store_price": str(price)})


def _contains(package_id: int, item_id: int, depth: int = 0) -> bool:
    """Whether package `package_id` contains `item_id` (at any depth)."""
    if package_id == item_id:
        return True
    if depth > MAX_PACKAGE_DEPTH:
        return True
    for child in db.session.scalars(select(PackageLine.component_id).where(PackageLine.package_id == package_id)):
        if _contains(child, item_id, depth + 1):
            return True
    return False


def set_package_lines(package: CatalogItem, lines: list[dict]) -> list[PackageLine]:
    """Replace the package's components with `lines` ([{component_id, quantity}] as PackageLineSchema loads them).
    Refuses another tenant's item, the package itself, a package that contains this one, and repeats."""
    if package.kind != "package":
        raise ValidationError({"kind": [_("Only a package has components.")]})
    errors: dict[str, list] = {}
    seen = set()
    for n, line in enumerate(lines):
        component = get_item(line.get("component_id"))
        if component is None:
            errors[f"lines.{n}.component_id"] = [_("Choose one of the listed options.")]
        elif component.id in seen:
            errors[f"lines.{n}.component_id"] = [_("This item is already in the package.")]
        elif _contains(component.id, package.id):
            errors[f"lines.{n}.component_id"] = [_("A package cannot contain itself.")]
        else:
            seen.add(component.id)
    if errors:
        raise ValidationError(errors)
    db.session.execute(delete(PackageLine).where(PackageLine.package_id == package.id))
    made = [PackageLine(package_id=package.id, component_id=line["component_id"], quantity=line["quantity"], position=n)
            for n, line in enumerate(lines)]
    db.session.add_all(made)
    db.session.flush()
    record("update", "catalog_item", package.id, f"{package.sku} {package.name}",
           after={"components": [[p.component_id, str(p.quantity)] for p in made]})
    return made


def create_category(data: dict) -> Category:
    """A category from CategorySchema-loaded `data`; the parent must be one of the tenant's."""
    if data.get("parent_id") is not None and get_scoped(Category, data["parent_id"]) is None:
        raise ValidationError({"parent_id": [_("Choose one of the listed options.")]})
    category = Category(**data)
    db.session.add(category)
    db.session.flush()
    record("create", "catalog_category", category.id, category.name, after=snapshot(category))
    return category


def update_category(category: Category, data: dict) -> Category:
    """Rename or move a category; a category cannot move under itself or one of its children."""
    parent_id = data.get("parent_id")
    if parent_id is not None and (get_scoped(Category, parent_id) is None or parent_id in subtree_ids(category.id)):
        raise ValidationError({"parent_id": [_("Choose a category outside this one.")]})
    before = snapshot(category)
    for key, value in data.items():
        setattr(category, key, value)
    db.session.flush()
    record_changes("catalog_category", category, before, category.name)
    return category


def files_in_use() -> set[int]:
    """Ids of uploads the items' photo and file fields point at (so the upload sweeper keeps them)."""
    used: set[int] = set()
    for d in definitions(ENTITY, include_archived=True):
        if d.type in FILE_TYPES:
            values = func.jsonb_array_elements_text(CatalogItem.custom[d.code])
            used.update(int(v) for v in db.session.scalars(
                select(values).where(CatalogItem.custom.has_key(d.code),
                                     func.jsonb_typeof(CatalogItem.custom[d.code]) == "array")) if v.isdigit())
    return used
