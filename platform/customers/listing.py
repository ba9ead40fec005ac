"""A customer list view as its query string describes it — shared by the list page, its export and saved views,
so an export always holds exactly the rows the list shows."""
from __future__ import annotations

from dataclasses import dataclass

from decimal import Decimal

from marshmallow import ValidationError

from ..fields.engine import definitions, filters_from_args
from ..validation import finite_number
from .services import SORTS, CustomerFilter


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


@dataclass(frozen=True)
class ListView:
    filter: CustomerFilter
    sort: str
    defs: list  # the custom fields this user sees
    filterable: dict  # code -> FieldDefinition usable as a filter
    custom_raw: dict  # code -> the text the user typed/chose


def _min_spend(raw: str | None) -> Decimal | None:
    """The "spent at least" filter: a number of zero or more, else no filter."""
    try:
        value = finite_number(raw) if raw not in (None, "") else None
    except ValidationError:
        return None
    return value if value is not None and value >= 0 else None


def from_args(user, args, store_id: int | None) -> ListView:
    defs = definitions("customer", user=user)
    filterable, raw, custom = filters_from_args(defs, args)
    flt = CustomerFilter(
        q=(args.get("q") or "").strip()[:100], store_id=store_id, custom=custom,
        tag=(args.get("tag") or "").strip()[:40] or None,
        status=args.get("status") if args.get("status") in ("active", "inactive", "lost") else None,
        owner_id=_id(args.get("owner")), min_spend=_min_spend(args.get("min_spend")))
    sort = args.get("sort") if args.get("sort") in SORTS else "newest"
    return ListView(flt, sort, defs, filterable, raw)
