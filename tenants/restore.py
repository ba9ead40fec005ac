"""Restore a tenant export (the operator console's, or an owner's) as a new tenant: on a fresh install after a
move, or beside the original on the same install (a copy to inspect, a tenant's data brought back after a mistake).

Every row keeps its id (primary keys lead with tenant_id, so the same ids under a new tenant never collide) and gets
the new tenant's id. What the export left out on purpose comes back fresh, never as the old value: users have no
password (they set one through "forgot password" or `flask users set-password`), signing secrets and share tokens
are new random values, sessions and API tokens do not exist. Files are written under the new tenant's prefix.

All or nothing: one transaction as the system role; an export from a newer schema (a column or table this install
does not have) is refused before anything is written."""
from __future__ import annotations

import json
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import String, Text, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from ..extensions import db
from ..files.storage import storage
from ..tenancy.models import Tenant
from ..tenancy.scoping import unscoped
from .lifecycle import EXPORT_FORMAT, exported_columns, tenant_tables


class RestoreRefused(Exception):
    """The export cannot be restored here (the message says why); nothing was written."""


@dataclass
class Restored:
    tenant_id: int
    slug: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0


def _fresh(column):
    """A value for a NOT NULL column the export left out: random where it is a secret, unusable where it is a
    password (the users set one before they can sign in)."""
    if column.name == "password_hash":
        return "!restored"  # matches no password; sign-in fails until a reset
    if isinstance(column.type, (String, Text)):
        length = getattr(column.type, "length", None) or 64
        return secrets.token_urlsafe(48)[:length]
    return None


def _self_references(table) -> list[str]:
    """Columns of `table` pointing at its own rows: inserted empty, filled once every row exists."""
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table and fk.parent.name != "tenant_id"]


def _rekey(value, old: int, new: int):
    # file keys start with the tenant id (storecrm.files.storage); nothing else in a row names a tenant by id
    if isinstance(value, str) and value.startswith(f"{old}/"):
        return f"{new}/" + value[len(f"{old}/"):]
    return value


def read_export(path: Path) -> tuple[dict, zipfile.ZipFile]:
    archive = zipfile.ZipFile(path)
    try:
        data = json.loads(archive.read("data.json"))
        data["meta"] = json.loads(archive.read("meta.json")) if "meta.json" in archive.namelist() else {}
    except (KeyError, ValueError) as err:
        raise RestoreRefused(f"{path.name} is not a StoreCRM tenant export (no readable data.json)") from err
    return data, archive


def check(data: dict) -> list[str]:
    """What stops this export from being restored on this install (empty: it can be)."""
    problems = []
    meta = data.get("meta") or {}
    if meta.get("format", EXPORT_FORMAT) > EXPORT_FORMAT:
        problems.append(f"export format {meta['format']} is newer than this install reads ({EXPORT_FORMAT})")
    if not data.get("tenant"):
        problems.append("the export has no tenant row")
    known = set(tenant_tables())
    for table, rows in data.items():
        if table in ("meta", "tenant") or not rows:
            continue
        if table not in known:
            problems.append(f"table {table}: not on this install (a plugin not installed, or a newer version)")
            continue
        columns = {c.name for c in db.metadata.tables[table].c}
        unknown = sorted(set(rows[0]) - columns)
        if unknown:
            problems.append(f"table {table}: columns {', '.join(unknown)} not on this install (a newer schema)")
    return problems


def restore(path: Path, slug: str, name: str | None = None) -> Restored:
    """Restore the export at `path` as a new tenant `slug` (status active); raises RestoreRefused."""
    data, archive = read_export(Path(path))
    with archive:
        problems = check(data)
        if problems:
            raise RestoreRefused("; ".join(problems))
        with unscoped(reason=f"restore of an export as tenant {slug}") as system:
            if system.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
                raise RestoreRefused(f"a tenant with slug {slug!r} exists already")
            source = data["tenant"][0]
            tenant = Tenant(slug=slug, name=name or source["name"], status="active",
                            **{k: source[k] for k in ("locale", "timezone", "currency", "settings") if k in source})
            system.add(tenant)
            system.flush()
            result = Restored(tenant_id=tenant.id, slug=slug)
            old = int(source["id"])
            later: list[tuple] = []
            # parents before children: the metadata's dependency order
            for table in (t for t in db.metadata.sorted_tables if t.name in data and t.name not in ("tenant", "meta")):
                rows = data[table.name]
                if not rows:
                    continue
                exported = set(exported_columns(table))
                missing = [c for c in table.c if c.name not in exported and not c.nullable and c.default is None
                           and c.server_default is None and c.name not in ("tenant_id", "id")]
                deferred = _self_references(table)
                values = []
                for row in rows:
                    out = {k: _rekey(v, old, tenant.id) for k, v in row.items()}
                    out["tenant_id"] = tenant.id
                    for column in missing:
                        out[column.name] = _fresh(column)
                    for column in deferred:
                        if out.get(column) is not None:
                            later.append((table, row["id"], column, out[column]))
                            out[column] = None
                    values.append(out)
                system.execute(table.insert(), values)
                result.rows[table.name] = len(values)
            for table, row_id, column, value in later:
                system.execute(table.update().where(table.c.tenant_id == tenant.id, table.c.id == row_id)
                               .values({column: value}))
            _advance_identities(system, result.rows)
            result.files = _restore_files(archive, old, tenant.id)
    return result


def _advance_identities(system, tables) -> None:
    """Rows came with their ids; the identity sequences must start above them or the next insert collides.
    Sequences belong to the schema owner (the app and system roles may only use them), so the owner moves them;
    moving a sequence forward is harmless even if the restore then rolls back."""
    tops = {}
    for name in tables:
        table = db.metadata.tables[name]
        if "id" in table.c and table.c.id.identity is not None:
            tops[name] = system.scalar(select(func.max(table.c.id)))
    engine = create_engine(current_app.config["DATABASE_OWNER_URL"], poolclass=NullPool)
    try:
        with engine.begin() as owner:
            for name, top in tops.items():
                sequence = owner.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'public."{name}"'})
                current = owner.scalar(text(f"SELECT last_value FROM {sequence}"))
                if top > current:
                    owner.execute(text("SELECT setval(:s, :top)"), {"s": sequence, "top": top})
    finally:
        engine.dispose()


def _restore_files(archive: zipfile.ZipFile, old: int, new: int) -> int:
    count = 0
    for item in archive.namelist():
        if item.startswith("files/") and not item.endswith("/"):
            key = _rekey(item[len("files/"):], old, new)
            storage().put(key, archive.read(item))
            count += 1
    return count
