"""Helpers for thin views: parse a form through a marshmallow schema, guard by permission."""
from __future__ import annotations

import functools

from flask import abort, request
from flask_babel import gettext
from flask_login import current_user, login_required
from marshmallow import Schema, ValidationError, fields

from .transactions import refuse


def form_data(schema: Schema) -> dict:
    """request.form as the schema expects it: list fields get every value, others the first."""
    data = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if field.dump_only:
            continue
        if isinstance(field, fields.Boolean):
            data[key] = key in request.form  # an unchecked box is simply absent
        elif isinstance(field, fields.List):
            data[key] = [v for v in request.form.getlist(key) if v != ""]
        elif key in request.form:
            value = request.form.get(key)
            # a browser sends "" for an untouched select, date or number input: that means "no value" — None where
            # the field allows it, else missing, so that a required select says "choose one" and not "not a valid
            # integer"
            if value.strip() == "" and not isinstance(field, fields.String):
                if field.allow_none:
                    data[key] = None
                continue
            data[key] = None if value.strip() == "" and field.allow_none else value
    return data


def load_form(schema: Schema) -> tuple[dict | None, dict]:
    """Load the submitted form through `schema`: (data, {}) when valid, (None, {field: [messages]}) when not."""
    try:
        return schema.load(form_data(schema)), {}
    except ValidationError as err:
        return None, flatten_errors(err.messages)


def _text(message) -> str:
    # lazy strings translate themselves; marshmallow's own English defaults are looked up
    return gettext(message) if isinstance(message, str) else str(message)


def flatten_errors(messages) -> dict:
    """{'field': ['msg', …]} with every message as a plain string in the current locale."""
    if not isinstance(messages, dict):
        return {"_schema": [_text(m) for m in (messages if isinstance(messages, list) else [messages])]}
    out = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            # a list of nested objects ({"lines": {0: {"quantity": [...]}}}) names each place: "lines.0.quantity"
            for index, inner in value.items():
                if isinstance(inner, dict):
                    out.update({f"{key}.{index}.{k}": v for k, v in flatten_errors(inner).items()})
            value = [v for vs in value.values() if not isinstance(vs, dict)
                     for v in (vs if isinstance(vs, list) else [vs])]
            if not value:
                continue
        out[key] = [_text(v) for v in (value if isinstance(value, list) else [value])]
    return out


def requires(permission: str):
    """Signed in and holding `permission`, else 403."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_permission(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def flash_errors(err) -> None:
    """Every message of a ValidationError as a flash message (for action buttons that redirect back); the request
    is refused, so nothing it wrote is kept."""
    from flask import flash

    refuse()
    for messages in flatten_errors(err.messages).values():
        for message in messages:
            flash(message, "danger")


def json_input(form, name: str, errors: dict, key: str):
    """The JSON typed into the text input `name` (None when empty); a parse error is added to `errors[key]`."""
    import json

    from flask_babel import lazy_gettext

    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as err:
        errors[key] = [lazy_gettext("Not valid JSON (%(reason)s).", reason=err.msg)]
        return None
