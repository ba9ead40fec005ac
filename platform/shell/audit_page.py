"""The audit log page: entries shown as a reader understands them.

Entries keep what services recorded (codes, ids, JSON values). This page, in the shell because it names records of
every module, turns them into words: field labels instead of column names, 是/否 instead of True/False, a store's,
person's or customer's name instead of its id, custom fields by their label and formatted by their type, dates and
money the user's way, and large definitions (a workflow's spec, a rule's trigger) as "changed" rather than a dump.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask import Blueprint, render_template, request, url_for
from flask_babel import format_currency, format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from ..access.models import Role
from ..assets.models import Asset
from ..assets.services import asset_types
from ..audit.labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS, HIDDEN_KEYS, VALUE_LABELS
from ..audit.models import AuditEntry
from ..calendar import money, tenant_currency
from ..customers.identities import kinds as identity_kinds
from ..customers.models import Customer
from ..extensions import db
from ..fields.engine import definitions
from ..hooks.runtime import host
from ..stores.models import Store
from ..users.models import User
from ..validation import display_phone
from ..web.forms import requires
from ..web.i18n import current_code, tenant_zone, zone_name

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50

# keys whose value names a record: which kind of record
REFERENCES = {"store_id": "store", "store_ids": "store", "owner_id": "user", "user_id": "user", "assignee_id": "user",
              "actor_id": "user", "role_id": "role", "customer_id": "customer", "merged_into_id": "customer",
              "survivor_id": "customer", "merged_id": "customer", "asset_id": "asset"}
CUSTOM_REFERENCES = {"ref_customer": "customer", "ref_asset": "asset", "ref_user": "user"}
TITLE_OF = {"store": (Store, Store.name), "user": (User, User.display_name), "role": (Role, None),
            "customer": (Customer, Customer.name), "asset": (Asset, Asset.name)}
# definitions too large to show as values: the entry says they changed, the record's page shows them
OPAQUE_KEYS = {"spec", "trigger", "conditions", "actions", "query", "payload", "settings", "permissions"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
MISSING = object()
WORKFLOW_VERSION = re.compile(r" v(\d{1,9})$")


@dataclass
class Change:
    label: str
    after: str
    before: str | None = None  # None: nothing before (a creation)


@dataclass
class Row:
    entry: AuditEntry
    actor: str
    action: str
    record_type: str
    record_title: str
    record_url: str | None
    changes: list[Change] = field(default_factory=list)


class Titles:
    """Names of the records a page of entries mentions, read with one query per kind of record."""

    def __init__(self):
        self.wanted: dict[str, set[int]] = {kind: set() for kind in TITLE_OF}
        self.names: dict[str, dict[int, str]] = {}

    def want(self, kind: str, value) -> None:
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, str) and v.isdigit() and len(v) < 19):
                self.wanted[kind].add(int(v))

    def load(self) -> None:
        for kind, ids in self.wanted.items():
            model, column = TITLE_OF[kind]
            if not ids:
                self.names[kind] = {}
            elif column is None:  # roles: built-in ones are named in the reader's language
                self.names[kind] = {r.id: r.label for r in db.session.scalars(select(model).where(model.id.in_(ids)))}
            else:
                self.names[kind] = dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())

    def of(self, kind: str, value) -> str:
        if isinstance(value, list):
            return "、".join(self.of(kind, v) for v in value) or "—"
        try:
            return self.names[kind].get(int(value)) or _("(removed)")
        except (TypeError, ValueError):
            return str(value)


class Presenter:
    def __init__(self, entries: list[AuditEntry]):
        self.entries = entries
        self.locale = current_code()
        self.titles = Titles()
        self._custom: dict[str, dict] = {}
        self.asset_types = asset_types()
        self.identity_kinds = identity_kinds()

    # -- what the page needs, gathered first so that names are read in a few queries
    def custom_defs(self, entity_type: str) -> dict:
        if entity_type not in self._custom:
            self._custom[entity_type] = {d.code: d for d in definitions(entity_type, include_archived=True)}
        return self._custom[entity_type]

    def gather(self) -> None:
        for e in self.entries:
            if e.entity_type in TITLE_OF and e.entity_id is not None:
                self.titles.want(e.entity_type, e.entity_id)
            for values in (e.before or {}, e.after or {}):
                for key, value in values.items():
                    if key in REFERENCES:
                        self.titles.want(REFERENCES[key], value)
                    elif key == "custom" and isinstance(value, dict):
                        defs = self.custom_defs(e.entity_type)
                        for code, v in value.items():
                            d = defs.get(code)
                            if d is not None and d.type in CUSTOM_REFERENCES and v not in (None, ""):
                                self.titles.want(CUSTOM_REFERENCES[d.type], v)
        self.titles.load()

    # -- labels and values
    def label(self, key: str) -> str:
        if key in FIELD_LABELS:
            return str(FIELD_LABELS[key])
        if key in self.identity_kinds:
            return str(self.identity_kinds[key].label)
        for t in self.asset_types.values():
            schema = t.attributes
            declared = getattr(schema, "_declared_fields", {}) if schema is not None else {}
            if key in declared and declared[key].metadata.get("label"):
                return str(declared[key].metadata["label"])
        return _("Other detail")

    def value(self, key: str, value, entity_type: str) -> str:
        if value is None or value == "" or value == [] or value == {}:
            return "—"
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if key in REFERENCES:
            return self.titles.of(REFERENCES[key], value)
        if key == "type" and entity_type == "asset" and value in self.asset_types:
            return str(self.asset_types[value].label)
        if key == "kind" and entity_type == "identity" and value in self.identity_kinds:
            return str(self.identity_kinds[value].label)
        if key in VALUE_LABELS and isinstance(value, str) and value in VALUE_LABELS[key]:
            return str(VALUE_LABELS[key][value])
        if key in ("mobile", "phone") and isinstance(value, str):
            return display_phone(value)
        if key == "timezone" and isinstance(value, str):
            return zone_name(value)
        if isinstance(value, list):
            return "、".join(self.value(key, v, entity_type) for v in value)
        if isinstance(value, dict):
            return "；".join(f"{self.label(k)}: {self.value(k, v, entity_type)}" for k, v in value.items())
        if isinstance(value, str):
            return self.when(value)
        if isinstance(value, (int, float)):
            return format_decimal(value)
        return str(value)

    def when(self, text: str) -> str:
        try:
            if ISO_DATE.match(text):
                return format_date(date.fromisoformat(text), "medium")
            if ISO_DATETIME.match(text):
                return format_datetime(datetime.fromisoformat(text), "short")
        except ValueError:
            pass
        return text

    def custom_value(self, d, value) -> str:
        if d is None:
            return self.value("", value, "")
        if value is None or value == "" or value == []:
            return "—"
        if d.type == "bool":
            return _("yes") if value else _("no")
        if d.type == "money":
            return format_currency(money(value), tenant_currency())
        if d.type in CUSTOM_REFERENCES:
            return self.titles.of(CUSTOM_REFERENCES[d.type], value)
        if d.type in ("photo", "file"):
            count = len(value) if isinstance(value, list) else 1
            return _("%(n)d files", n=count)
        if d.type in ("date", "datetime") and isinstance(value, str):
            return self.when(value)
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        if d.type == "number":
            try:
                return format_decimal(value)
            except (TypeError, ValueError):
                return str(value)
        return str(value)

    # -- one entry
    def changes(self, e: AuditEntry) -> list[Change]:
        before, after = e.before or {}, e.after or {}
        created = not before
        out: list[Change] = []
        for key in list(dict.fromkeys([*after, *before])):
            if key in HIDDEN_KEYS:
                continue
            b, a = before.get(key, MISSING), after.get(key, MISSING)
            if key == "custom" and isinstance(a if a is not MISSING else b, (dict, type(None))):
                out += self.custom_changes(e.entity_type, b, a)
            elif key in OPAQUE_KEYS or _nested(a) or _nested(b):
                out.append(Change(self.label(key), _("set") if created else _("changed")))
            elif isinstance(a, dict) or isinstance(b, dict):
                bd = b if isinstance(b, dict) else {}
                ad = a if isinstance(a, dict) else {}
                for sub in dict.fromkeys([*ad, *bd]):
                    if sub in HIDDEN_KEYS or bd.get(sub) == ad.get(sub) or (created and ad.get(sub) in (None, "")):
                        continue
                    out.append(Change(self.label(sub), self.value(sub, ad.get(sub), e.entity_type),
                                      None if created else self.value(sub, bd.get(sub), e.entity_type)))
            else:
                shown = "mobile" if key == "value" and (after or before).get("kind") == "mobile" else key
                out.append(Change(self.label(key), self.value(shown, None if a is MISSING else a, e.entity_type),
                                  None if b is MISSING else self.value(shown, b, e.entity_type)))
        return out

    def custom_changes(self, entity_type: str, before, after) -> list[Change]:
        defs = self.custom_defs(entity_type)
        bd = before if isinstance(before, dict) else {}
        ad = after if isinstance(after, dict) else {}
        out = []
        for code in dict.fromkeys([*ad, *bd]):
            if bd.get(code) == ad.get(code):
                continue
            d = defs.get(code)
            label = d.label(self.locale) if d is not None else _("Custom field")
            out.append(Change(label, self.custom_value(d, ad.get(code)),
                              self.custom_value(d, bd.get(code)) if isinstance(before, dict) else None))
        return out

    def title(self, e: AuditEntry) -> str:
        """The entry's summary, with the codes some services put in it (a plugin's name, an identity's kind)
        replaced by their labels."""
        title = e.summary or ""
        if e.entity_type == "plugin":
            name, sep, rest = title.partition(" ")
            name = name.rstrip(":")
            info = host().infos.get(name)
            if info is not None:
                title = info.label_for(self.locale) + title[len(name):]
        elif e.entity_type == "workflow" and (version := WORKFLOW_VERSION.search(title)):  # "新线索跟进 v2"
            title = f"{title[:version.start()]} · {_('version %(n)d', n=int(version.group(1)))}"
        elif e.entity_type == "identity":
            who, sep, kind = title.rpartition(": ")
            if sep and kind in self.identity_kinds:  # "王芳: mobile"
                title = f"{who}: {self.identity_kinds[kind].label}"
        if not title and e.entity_type in TITLE_OF and e.entity_id is not None:
            title = self.titles.of(e.entity_type, e.entity_id)
        return title

    def rows(self) -> list[Row]:
        self.gather()
        rows = []
        for e in self.entries:
            title = self.title(e)
            if not title and e.entity_type in TITLE_OF and e.entity_id is not None:
                title = self.titles.of(e.entity_type, e.entity_id)
            url = None
            if e.entity_id is not None and e.action != "erase":
                if e.entity_type == "customer":
                    url = url_for("customers.show", customer_id=e.entity_id)
                elif e.entity_type == "asset":
                    url = url_for("assets.show", asset_id=e.entity_id)
            actor = _("System") if e.actor_id is None and e.actor_label in ("system", "") else e.actor_label
            rows.append(Row(e, actor, str(ACTION_LABELS.get(e.action, _("other action"))),
                            str(ENTITY_LABELS.get(e.entity_type, _("Record"))), title, url, self.changes(e)))
        return rows


def _nested(value) -> bool:
    """A dict of dicts or a list of dicts (a definition), which no single line can show."""
    if isinstance(value, dict):
        return any(isinstance(v, (dict, list)) and v and not all(isinstance(x, str) for x in v)
                   if isinstance(v, list) else isinstance(v, dict) for v in value.values())
    if isinstance(value, list):
        return any(isinstance(v, (dict, list)) for v in value)
    return False


def _date(value: str | None):
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


@bp.get("/")
@requires("audit.view")
def index():
    """Newest first, keyset-paged by id; filters by entity type, action, actor and day range."""
    args = request.args
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE + 1)
    if args.get("entity_type"):
        q = q.where(AuditEntry.entity_type == args["entity_type"][:60])
    if args.get("action"):
        q = q.where(AuditEntry.action == args["action"][:40])
    if args.get("actor", "").isdigit() and len(args["actor"]) < 19:
        q = q.where(AuditEntry.actor_id == int(args["actor"]))
    if args.get("entity_id", "").isdigit() and len(args["entity_id"]) < 19:
        q = q.where(AuditEntry.entity_id == int(args["entity_id"]))
    start, end = _date(args.get("from")), _date(args.get("to"))

    tz = tenant_zone()
    if start:
        q = q.where(AuditEntry.at >= datetime.combine(start, time.min, tz))
    if end:
        q = q.where(AuditEntry.at <= datetime.combine(end, time.max, tz))
    before = args.get("before", "")
    if before.isdigit() and len(before) < 19:
        q = q.where(AuditEntry.id < int(before))
    entries = list(db.session.scalars(q))
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    next_args = {**args.to_dict(), "before": entries[-1].id} if more else None
    return render_template("audit/index.html", rows=Presenter(entries).rows(), next_args=next_args, args=args,
                           entity_labels=ENTITY_LABELS, action_labels=ACTION_LABELS)
