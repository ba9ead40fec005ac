"""Switching plugins on and off for the current tenant, and their per-tenant settings."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record
from ..crypto import seal, unseal
from ..extensions import db
from ..fields.services import ensure_presets
from ..tenancy.models import current_tenant_row, utcnow
from ..web.i18n import current_code
from .lifecycle import bring_up_to_date, default_pairs, grant, start_record
from .models import TenantPlugin
from ..hooks.runtime import forget_enabled_cache, host


def enabled_names() -> set[str]:
    return set(db.session.scalars(select(TenantPlugin.name).where(TenantPlugin.enabled)))


def _row(name: str) -> TenantPlugin | None:
    return db.session.scalar(select(TenantPlugin).where(TenantPlugin.name == name))


def _info(name: str):
    info = host().infos.get(name)
    if info is None or info.system:  # a system plugin (the control plane) is part of the install, not a module
        raise LookupError(name)
    return info


def _tenant():
    return current_tenant_row()


def is_allowed(name: str) -> bool:
    """Entitlements: the first plugin answering `plugin_allowed` decides; no answer means allowed."""
    answer = host().pm.hook.plugin_allowed(tenant=_tenant(), plugin_name=name)
    return answer is not False


def catalog() -> list[dict]:
    """Every installed plugin with its state for the current tenant."""
    rows = {r.name: r for r in db.session.scalars(select(TenantPlugin))}
    infos = host().infos
    out = []
    for name, info in sorted(infos.items()):
        if info.system:
            continue
        row = rows.get(name)
        out.append({
            "info": info, "name": name, "enabled": bool(row and row.enabled),
            "ever_enabled": bool(row and row.first_enabled_at), "allowed": is_allowed(name),
            "required_by": sorted(n for n, i in infos.items() if name in i.requires),
            "has_settings": info.settings_schema is not None,
        })
    return out


def _requirements(name: str, chain: tuple = ()) -> list[str]:
    """`name` and every plugin it needs, requirements first; ValidationError on a cycle."""
    if name in chain:
        raise ValidationError({"name": [_("Plugins %(chain)s require each other.", chain=" → ".join(chain + (name,)))]})
    out: list[str] = []
    for required in _info(name).requires:
        out += [n for n in _requirements(required, chain + (name,)) if n not in out]
    return out + [name]


def enable(name: str) -> TenantPlugin:
    """Switch a plugin on with the plugins it requires, all or none: every one is checked against the plan before
    anything is written. Seeds a plugin's defaults the first time only."""
    wanted = _requirements(name)
    refused = [n for n in wanted if not is_allowed(n)]
    if refused:
        raise ValidationError({"name": [_("Your plan does not include %(label)s.",
                                          label=", ".join(_info(n).label_for(current_code()) for n in refused))]})
    for required in wanted[:-1]:
        _switch_on(required)
    return _switch_on(name)


def _switch_on(name: str) -> TenantPlugin:
    info = _info(name)
    row = _row(name)
    if row is not None and row.enabled:
        return row
    first_time = row is None or row.first_enabled_at is None
    now = utcnow()
    if row is None:
        row = TenantPlugin(name=name, settings=_default_settings(info))
        db.session.add(row)
    row.enabled, row.enabled_at = True, now
    if first_time:
        row.first_enabled_at = now
        start_record(row, grant(default_pairs(name)))
    else:  # back on, perhaps after the plugin was upgraded while it was off here
        bring_up_to_date(row)
    db.session.flush()
    forget_enabled_cache()
    if first_time:
        ensure_presets(p for owner, p in host().contributions.get("register_field_presets", []) if owner == name)
    host().call_one(name, "plugin_enabled", tenant=_tenant(), first_time=first_time)
    record("enable", "plugin", row.id, name)
    return row


def disable(name: str) -> TenantPlugin | None:
    """Switch a plugin off; its data stays. Refused while an enabled plugin requires it."""
    _info(name)
    row = _row(name)
    if row is None or not row.enabled:
        return row
    dependants = [n for n, i in host().infos.items() if name in i.requires and n in enabled_names()]
    if dependants:
        raise ValidationError({"name": [_("Switch off %(names)s first: they need this module.",
                                          names=", ".join(sorted(dependants)))]})
    row.enabled, row.disabled_at = False, utcnow()
    db.session.flush()
    forget_enabled_cache()
    host().call_one(name, "plugin_disabled", tenant=_tenant())
    record("disable", "plugin", row.id, name)
    return row


def _default_settings(info) -> dict:
    if info.settings_schema is None:
        return {}
    schema = info.settings_schema()
    return schema.dump(schema.load({}))


MASK = "********"


def secret_fields(info) -> set[str]:
    """Settings fields declared with `metadata={"secret": True}`: sealed at rest, never shown or audited in clear."""
    if info.settings_schema is None:
        return set()
    return {name for name, f in info.settings_schema().fields.items() if (f.metadata or {}).get("secret")}


def _stored(name: str) -> tuple[object, dict]:
    info = _info(name)
    row = _row(name)
    return info, {**_default_settings(info), **((row.settings if row else None) or {})}


def get_settings(name: str) -> dict:
    """The settings as staff see them (UI, API): a secret that is set reads as a mask, never as its value."""
    info, values = _stored(name)
    for key in secret_fields(info):
        values[key] = MASK if values.get(key) else ""
    return values


def save_settings(name: str, raw: dict) -> dict:
    """Validate with the plugin's schema and store; raises ValidationError with field messages.

    A secret left blank (or sent back as the mask) keeps the stored one; a new one is sealed (storecrm.crypto)."""
    info = _info(name)
    if info.settings_schema is None:
        raise LookupError(name)
    secrets_ = secret_fields(info)
    row = _row(name)
    before = dict((row.settings if row else None) or {})
    raw = {k: v for k, v in raw.items() if not (k in secrets_ and v in (None, "", MASK))}
    schema = info.settings_schema()
    data = schema.dump(schema.load(raw, partial=tuple(k for k in secrets_ if before.get(k))))
    for key in secrets_:
        if data.get(key) not in (None, ""):
            data[key] = seal(str(data[key]))
        elif before.get(key):
            data[key] = before[key]
    if row is None:
        row = TenantPlugin(name=name, enabled=False, settings={})
        db.session.add(row)
    row.settings = data
    db.session.flush()
    record("update", "plugin_settings", row.id, name, before=_masked(before, secrets_),
           after=_masked(data, secrets_))
    return get_settings(name)


def _masked(values: dict, secrets_: set[str]) -> dict:
    return {k: (MASK if k in secrets_ and v else v) for k, v in values.items()}


def plugin_settings(name: str) -> dict:
    """For plugin code: this tenant's settings of plugin `name` (defaults filled in, secrets decrypted)."""
    info, values = _stored(name)
    for key in secret_fields(info):
        if values.get(key):
            values[key] = unseal(values[key])
    return values
