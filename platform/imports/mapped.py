"""Imports of a plugin's own records through the `ImportMapping` it registers (`register_import_mappings`).

The wizard, the job, its lease and the error report are the customer import's (imports.services); what differs
is here: which mappings a user is offered, their targets on the mapping page, how a row is loaded (the plugin's
schema, the customer found through One-ID) and how it is written (the plugin's `upsert`, one savepoint per row,
so a refused row leaves nothing behind)."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..customers import identities
from ..customers.models import Customer
from ..customers.services import visible
from ..extensions import db
from ..hooks.runtime import enabled_plugins, host
from ..web.forms import flatten_errors
from . import mapping


def offered(user) -> dict:
    """{code: ImportMapping} the wizard offers `user`: those of plugins enabled for the tenant that can write
    (`upsert`), whose permission the user holds."""
    return {m.code: m for m in host().items("register_import_mappings", enabled_plugins())
            if m.upsert is not None and (m.permission is None or user.has_permission(m.permission))}


def targets(target) -> dict:
    """{field: (label, recognised headers)} of a mapping, in the order its `fields` give."""
    recognised: dict[str, list[str]] = {}
    for header, name in target.columns.items():
        recognised.setdefault(name, []).append(mapping.norm(header))
    kinds = identities.kinds()
    out = {}
    for name in [*target.fields, *(n for n in recognised if n not in target.fields),
                 *(k for k in target.customer_by if k not in target.fields and k not in recognised)]:
        label = target.fields.get(name) or (kinds[name].label if name in kinds else name)
        synonyms = tuple(recognised.get(name, ()))
        if name in target.customer_by and name in mapping.TARGETS:  # 手机号, VIN … as for customers
            synonyms += mapping.TARGETS[name][1]
        out[name] = (label, synonyms)
    return out


def missing_columns(target, chosen: dict) -> list:
    """Labels of what must be mapped and is not: the schema's required fields, and one customer identity."""
    fields = set(chosen.values())
    labels = targets(target)
    schema = target.schema() if target.schema is not None else None
    missing = [labels.get(name, (name,))[0] for name, f in (schema.fields.items() if schema else ())
               if f.required and name not in fields]
    if target.customer_by and not fields & set(target.customer_by):
        missing.append(" / ".join(str(labels[k][0]) for k in target.customer_by))
    return [str(m) for m in missing]


def load_rows(user, run, target, rows: list) -> list[tuple[int, list, dict, dict]]:
    """(row number, values, loaded data, errors) for each (row number, values): the plugin's schema, then the
    customer of every row found with one query for the batch. Nothing is written."""
    schema = target.schema() if target.schema is not None else None
    loaded, wanted = [], []
    for number, values in rows:
        cells = {name: (values[int(col)] if int(col) < len(values) else "") for col, name in run.mapping.items()}
        data, errors = {}, {}
        if schema is not None:
            try:
                data = schema.load({k: v for k, v in cells.items() if k in schema.fields and v != ""})
            except ValidationError as err:
                errors.update(flatten_errors(err.messages))
        found = {}
        for kind in target.customer_by:
            if cells.get(kind, ""):
                try:
                    found[kind] = identities.normalize(kind, cells[kind])
                except ValidationError as err:
                    errors[kind] = flatten_errors(err.messages).get("value", [_("Invalid value.")])
        wanted += found.items()
        loaded.append((number, values, data, errors, found))
    owners = identities.owners(wanted)
    ids = set(owners.values())
    seen = {c.id: c for c in db.session.scalars(visible(user, select(Customer).where(Customer.id.in_(ids))))} \
        if ids else {}
    out = []
    for number, values, data, errors, found in loaded:
        if target.customer_by and not errors:
            _link_customer(target, data, errors, found, owners, seen)
        out.append((number, values, data, errors))
    return out


def _link_customer(target, data: dict, errors: dict, found: dict, owners: dict, seen: dict) -> None:
    """Put the row's customer in `data["customer"]`, or say in `errors` why there is none."""
    if not found:
        errors[target.customer_by[0]] = [_("Missing data for required field.")]
        return
    matched = {owners[pair] for pair in found.items() if pair in owners}
    if len(matched) > 1:
        errors["_schema"] = [_("The identities belong to different customers: %(ids)s",
                               ids=", ".join(f"#{i}" for i in sorted(matched)))]
    elif not matched:
        for kind in found:
            errors[kind] = [_("No customer has this value.")]
    elif (customer := seen.get(matched.pop())) is None or customer.merged_into_id is not None:
        errors["_schema"] = [_("This person is a customer of a store you cannot see.")]
    else:
        data["customer"] = customer


def apply_rows(user, run, target, batch: list) -> dict:
    """{row number: "created" | "updated" | {field: [messages]}} for the batch, written through the plugin's
    `upsert`, each row in its own savepoint."""
    outcomes: dict[int, object] = {}
    for number, _values, data, errors in load_rows(user, run, target, batch):
        if errors:
            outcomes[number] = errors
            continue
        try:
            with db.session.begin_nested():
                outcome = target.upsert(user, data)
        except ValidationError as err:
            outcomes[number] = flatten_errors(err.messages)
        else:
            outcomes[number] = "updated" if outcome == "updated" else "created"
    return outcomes
