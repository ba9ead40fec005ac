from __future__ import annotations

from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate

from ..fields.engine import definitions, filter_value
from ..validation import finite_number
from ..web.forms import flatten_errors


class PageArgs(Schema):
    """Query arguments `page` (from 1) and `per_page` (1–200, default 50) of list endpoints."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_schema(item_schema_cls):
    """A `{items, total, page, per_page}` response schema for lists of `item_schema_cls`."""
    class Page(Schema):
        items = fields.List(fields.Nested(item_schema_cls))
        total = fields.Integer()
        page = fields.Integer()
        per_page = fields.Integer()

    Page.__name__ = item_schema_cls.__name__.replace("Schema", "") + "Page"
    return Page


def paged(query_items, total: int, args: dict) -> dict:
    """The body of a page response: the items and the paging numbers from `args` (a loaded PageArgs)."""
    return {"items": query_items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def unprocessable(err: ValidationError):
    """Abort with 422 problem+json carrying the ValidationError's field errors."""
    abort(422, messages={"json": flatten_errors(err.messages)})


def patch_load(schema: Schema, current: dict) -> dict:
    """PATCH semantics: the stored record's fields, overlaid with the request's, validated whole."""
    from flask import request

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, messages={"json": {"_schema": ["Send a JSON object."]}})
    dumped = {k: v for k, v in current.items() if k in schema.fields and not schema.fields[k].dump_only}
    try:
        return schema.load({**dumped, **body})
    except ValidationError as err:
        unprocessable(err)


def custom_filters(entity: str, user, cf: list[str]) -> tuple:
    """`cf=code=value` query parameters as ((code, stored value), …); 422 naming any field this user cannot filter
    on, a parameter without `=` or a number that is not a finite number within bounds."""
    from flask_babel import gettext as _

    by_code = {d.code: d for d in definitions(entity, user=user)}
    pairs = [tuple(item.split("=", 1)) for item in cf]
    if any(len(pair) != 2 for pair in pairs):
        unprocessable(ValidationError({"cf": [_("Write each filter as code=value.")]}))
    unknown = [code for code, _value in pairs if code not in by_code]
    if unknown:
        unprocessable(ValidationError({"cf": [_("Unknown custom field: %(codes)s", codes=", ".join(unknown)[:200])]}))
    for code, value in pairs:
        if by_code[code].type in ("number", "money"):
            try:
                finite_number(value)
            except ValidationError as err:
                unprocessable(ValidationError({"cf": [f"{code}: {err.messages[0]}"]}))
    return tuple((code, filter_value(by_code[code], value)) for code, value in pairs)
