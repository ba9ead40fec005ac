"""Plain data objects that plugins return from registration hooks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class AssetType:
    """A kind of asset. `attributes`: a marshmallow Schema class of its attributes (labels in field metadata);
    `identity_kinds`: identifiers it carries (e.g. ("vin", "plate")), which become identities of its owner."""

    code: str
    label: Any  # lazy string
    attributes: Any = None
    identity_kinds: tuple = ()


@dataclass(frozen=True)
class ExtensibleEntity:
    """A plugin record type on which tenant admins may define custom fields (code e.g. "install_job").

    files_in_use: returns the ids of uploads the plugin's records point at (photo and file fields), run inside the
    tenant; without it, unreferenced uploads of tenants using the plugin are never cleaned up."""

    code: str
    label: Any  # lazy string
    files_in_use: Callable[[], Any] | None = None


@dataclass(frozen=True)
class FieldPreset:
    entity: str  # "customer", "asset", or a plugin's extensible entity
    code: str
    label: Any
    type: str  # text | number | money | date | select | …
    options: tuple = ()


@dataclass(frozen=True)
class EngineEntity:
    """A record type workflows and automation rules work on (the core declares "customer" and "asset").

    model: the TenantScoped SQLAlchemy class. fields: {attribute: (label, type)} usable in conditions, date
    triggers and "update field" actions; type is text | number | date | datetime | bool | tags | store. The
    entity's custom fields (if it is an ExtensibleEntity with a `custom` JSONB column) are added as `custom.<code>`.
    title(record) -> str, what people read instead of an id (a customer's name; an asset's name with its plate or VIN);
    titles(records) -> {id: title} optionally does the same for many records in one query (lists, previews);
    view_permission: the permission a person needs to open such a record (with the store scope of store_id), which
    decides who may be assigned a workflow item of it. url(record) -> its page's path under the tenant ("/customers/12"); customer_id(record) -> the customer it belongs to (for timelines
    and customer notifications) or None; store_id(record) -> int or None.
    update(user, record, data): change fields through the owner's service (validation, audit, events), or None
    when rules may not change this entity. amount fields (numbers) can drive tiered approvals.
    workflow: whether workflows may be attached."""

    code: str
    label: Any
    model: Any
    fields: dict
    title: Callable[[Any], str]
    url: Callable[[Any], str]
    customer_id: Callable[[Any], Any] = lambda record: None
    store_id: Callable[[Any], Any] = lambda record: getattr(record, "store_id", None)
    update: Callable[..., Any] | None = None
    workflow: bool = True
    titles: Callable[[list], dict] | None = None
    view_permission: str = "customers.view"


@dataclass(frozen=True)
class WorkflowDefinition:
    """A default state machine offered to tenants, who copy and edit it. `spec` is the JSON documented in
    docs/workflows.md: {"initial", "states": [{code, label, deadline_hours, escalation, final}],
    "transitions": [{code, label, from, to, roles, condition, required_fields, require_photo, approval}]}.
    fields: FieldPreset objects the spec relies on (e.g. an amount field), created on copy if the tenant lacks them."""

    code: str
    label: Any
    entity: str
    spec: dict
    description: Any = ""
    fields: tuple = ()


@dataclass(frozen=True)
class RuleTrigger:
    """An event of a plugin's records rules may start from; the plugin emits
    `RecordEvent(entity, record, code)` (`storecrm.sdk.emit_event`) when it happens, in the same transaction."""

    code: str
    label: Any
    entity: str


@dataclass(frozen=True)
class RuleCondition:
    """A condition leaf `{"plugin": code, "value": …}`: evaluate(record, value) -> bool for events, and
    compile(model, value) -> a SQLAlchemy boolean over `model` for sweeps (None: the leaf is evaluated in Python)."""

    code: str
    label: Any
    evaluate: Callable[..., bool]
    compile: Callable[..., Any] | None = None


@dataclass(frozen=True)
class RuleAction:
    code: str
    label: Any
    params: Any  # a marshmallow Schema class validating the action's parameters
    run: Callable[..., Any]  # run(record, params) inside the tenant's transaction


@dataclass(frozen=True)
class MessageTemplate:
    """A message the product (or a plugin) sends: its code (e.g. "retail.coupon_issued"), a label for the template
    editor, the placeholder names it fills, and built-in wording. Tenants rewrite it under Administration → Message
    templates; channels that send only pre-approved templates (Chinese SMS, WeChat) map the code to theirs."""

    code: str
    label: Any
    variables: tuple
    subject_zh: str
    subject_en: str
    body_zh: str
    body_en: str


@dataclass(frozen=True)
class NotificationChannel:
    """`send(message)` delivers one outbox row and raises on failure (the outbox retries).
    staff_address(user) -> str | None: for a channel that reaches staff (e.g. WeCom), the user's address on it;
    `notify_user` then queues every staff notification there too."""

    code: str
    label: Any
    send: Callable[..., Any]
    staff_address: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Kpi:
    """A number with a written definition, computed inside the tenant.

    Two ways to compute it. The old one, still honoured: `compute(user)` returns the value (a card on the home page,
    no period, no drill-down). The reports engine's way (docs/reports.md): `records(scope)` returns ONE SQLAlchemy
    `Select` of the records the KPI counts, one row per record, limited to `scope` (a `storecrm.sdk.KpiScope`: its
    period bounds `scope.start`/`scope.end` in UTC, `scope.stores(column)` for the viewer's stores and the store
    filter, `scope.staff_id`, `scope.channel`). The engine aggregates that same statement in SQL for the value (so
    the number and the drill-down list can never disagree), runs it again over the previous period for the
    comparison, groups it for charts, and pages it for the drill-down and the CSV/XLSX export.

    records(scope): rows must have an `id` column; the columns named in `columns` are shown in the drill-down.
    measure: how the rows become the value — "count" | "rate:<boolean column>" (percent of rows where true) |
        "avg:<column>" | "median:<column>" | "sum:<column>" (money: a NUMERIC column) | "nps:<0-10 column>" (% 9–10 minus % 0–6).
    unit: "" (a count) | "%" | "score" | "money".
    filters: which filters apply: any of "store", "staff", "channel".
    channels: {channel code: label} offered for the channel filter.
    columns: {column: label} of the drill-down table and the export, in order.
    time_column: the column dating each row ("at"), for trend charts; None for a snapshot (dormant, overdue).
    group_by: {column: label} the value may be broken down by (bar and pie charts), e.g. {"store_id": "Store"}.
    higher_is_better: colours the comparison with the previous period.
    roles: built-in role codes whose home workbench shows this KPI by default; () means every role that may see it.
    link: link(row) -> the path of a drill-down row's page under the tenant ("/customers/12"), or None."""

    code: str
    label: Any
    definition: Any
    compute: Callable[..., Any] | None = None
    permission: str | None = None
    records: Callable[..., Any] | None = None
    measure: str = "count"
    unit: str = ""
    filters: tuple = ()
    channels: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)
    time_column: str | None = "at"
    group_by: dict = field(default_factory=dict)
    higher_is_better: bool = True
    roles: tuple = ()
    link: Callable[..., Any] | None = None

    def __post_init__(self):
        if self.compute is None and self.records is None:
            raise ValueError(f"Kpi {self.code!r}: give compute(user) or records(scope)")
        kind = self.measure.split(":", 1)[0]
        if kind not in ("count", "rate", "avg", "median", "sum", "nps") or (kind != "count") != (":" in self.measure):
            raise ValueError(f"Kpi {self.code!r}: unknown measure {self.measure!r}")


REPORT_FIELD_TYPES = ("text", "number", "money", "datetime", "bool", "choice")


@dataclass(frozen=True)
class ReportField:
    """A column of a `ReportSource`: its label, its type (one of REPORT_FIELD_TYPES) and, for "choice", the
    {stored code: label} the builder shows and accepts."""

    label: Any
    type: str = "text"
    choices: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.type not in REPORT_FIELD_TYPES:
            raise ValueError(f"ReportField {self.label!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class ReportSource:
    """A record type of the report builder (docs/reports.md, docs/plugins.md `register_report_sources`).

    rows(user): ONE SQLAlchemy `Select` with one labelled column per name in `fields`, plus `id`, plus the hidden
        `store_column` (and `custom`, the JSONB of custom values, when `custom_fields` is set). The builder wraps it
        as a subquery and adds, inside the same statement, the viewer's stores on `store_column`, the filters, the
        group-by and the measure; every name a report uses is looked up in `fields`, every value is a bound
        parameter, so no report text ever becomes SQL.
    fields: {name: ReportField}. Dimensions: `dimensions` (default every field but `id` and money fields;
        dates group by day, week or month). Measures: count and distinct over any field, sum and average over
        `measures` (default every number and money field).
    store_column: the column with the record's store id; None only for a source that limits itself to the
        viewer (the core's leads: their stores' leads and their own) — `rows(user)` then must do it.
    custom_fields: the `ExtensibleEntity` code whose custom fields become fields (custom.<code>) of the report.
    default_columns: the record list's columns when the admin picks none."""

    code: str
    label: Any
    permission: str
    rows: Callable[..., Any]
    fields: dict
    default_columns: tuple = ()
    store_column: str | None = "store_id"
    custom_fields: str | None = None
    dimensions: tuple = ()
    measures: tuple = ()

    def __post_init__(self):
        unknown = [n for n in (*self.default_columns, *self.dimensions, *self.measures) if n not in self.fields]
        if unknown:
            raise ValueError(f"ReportSource {self.code!r}: unknown fields {unknown}")

    def dimension_names(self) -> tuple:
        return self.dimensions or tuple(n for n, f in self.fields.items() if f.type != "money" and n != "id")

    def measure_names(self) -> tuple:
        return self.measures or tuple(n for n, f in self.fields.items() if f.type in ("number", "money"))


@dataclass(frozen=True)
class DashboardWidget:
    """A card on the home page. `template` is rendered with `widget`, `user` and whatever `context(user)` returns;
    a `context` returning None hides the card for now (a checklist that is done). `position`: "top" (above the
    KPIs) or "main" (below them); `order` sorts cards within a position."""

    code: str
    label: Any
    template: str
    permission: str | None = None
    context: Callable[..., dict | None] | None = None
    position: str = "main"
    order: int = 100


@dataclass(frozen=True)
class Banner:
    """A line above every page's content for a signed-in user: `level` is info | warning | danger; `message` is
    text in the user's language (may contain a link as `url` with `link_label`)."""

    code: str
    level: str
    message: Any
    url: str | None = None
    link_label: Any = None


@dataclass(frozen=True)
class CustomerPanel:
    """A box on the customer page: `template` is rendered with `customer` and `ctx`, whatever `context(customer)`
    returns.

    position: "main" (below the timeline) or "summary" (right below the profile, before the timeline: for what
        staff look at first, such as the customer's cars or open tasks).
    framed: True puts the template in a card headed by `label`; False lets the template draw its own card(s), for a
        panel with buttons in its header or several columns.
    """

    code: str
    label: Any
    template: str
    context: Callable[..., dict] = lambda customer: {}
    permission: str | None = None
    order: int = 100
    position: str = "main"
    framed: bool = True


@dataclass(frozen=True)
class AssetPanel:
    """A box on an asset's page (a car, a device): `template` is rendered in a card headed by `label`, with `asset`
    and `ctx`, whatever `context(asset)` returns. Panels of all plugins are ordered by `order`."""

    code: str
    label: Any
    template: str
    context: Callable[..., dict] = lambda asset: {}
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class LeadPanel:
    """A box on a lead's page (the car model of interest, test drives, a contract): `template` is rendered in a card
    headed by `label`, with `lead` and `ctx`, whatever `context(lead)` returns. Panels of all plugins are ordered by
    `order`."""

    code: str
    label: Any
    template: str
    context: Callable[..., dict] = lambda lead: {}
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class ImportMapping:
    """A record type of a plugin that the import wizard brings in from a spreadsheet, offered next to customers
    under "What are you importing?" to tenants with the plugin on. The core's import engine does the rest: upload,
    the mapping page, the preview, the background job (batches, lease, resume, row cap) and the error report.

    code: what is imported, unique across plugins, at most 20 characters ("carwash.washes"): it is stored as the
        kind of each import run.
    label: the choice in the wizard (lazy string).
    columns: {header as spreadsheets spell it: field}: headers recognised on upload, compared without case,
        spaces and punctuation; give the Chinese and the English spellings.
    fields: {field: label} in the order the mapping page lists them (fields of `columns` missing here are listed
        by name; `customer_by` kinds get the identity's label).
    schema: a marshmallow Schema class that loads one row, {field: cell text} with empty cells left out. Its
        `required=True` fields must be mapped before the import starts; its errors are the row's errors, shown in
        the user's language (messages through `lazy_gettext`).
    upsert: upsert(user, data) -> "created" | "updated": write one loaded row through the plugin's service, matching
        an existing record by its natural key, so that importing a file twice duplicates nothing. Each row runs in
        its own savepoint: raise marshmallow.ValidationError({field: [message]}) to refuse it, and nothing it wrote
        is kept. A mapping without `upsert` is not offered.
    customer_by: identity kinds ("mobile", "vin", "plate", a plugin's kind …) whose same-named fields find the
        row's customer through One-ID; the loaded data then holds `customer` (a Customer the importing user may
        see). A row whose identities match nobody, someone the user cannot see, or two people is refused.
    permission: what the importing user must hold besides `customers.manage` (e.g. "carwash.record")."""

    code: str
    label: Any
    columns: dict = field(default_factory=dict)  # header -> field
    fields: dict = field(default_factory=dict)  # field -> label, in order
    schema: Any = None
    upsert: Callable[..., str] | None = None
    customer_by: tuple = ()
    permission: str | None = None

    def __post_init__(self):
        if not self.code or len(self.code) > 20:  # fails the plugin's start, not a tenant's upload
            raise ValueError(f"ImportMapping code {self.code!r}: 1 to 20 characters")


@dataclass(frozen=True)
class PeriodicJob:
    """`run()` is called inside each tenant that has the plugin enabled, on the cron schedule."""

    code: str
    cron: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class DemoTenant:
    """A demo tenant that `make run` (`flask demo load`) creates once, with this plugin on.

    The core creates the tenant (`slug`, `name`, zh_CN, Asia/Shanghai), its `stores` (dicts as the store form takes:
    code, name, phone, province, city, address, opens_at, closes_at; the first is the owner's), one user per built-in
    role with the demo logins (`owner@demo.storecrm.cn` … `tech@demo.storecrm.cn`, password `demo-pass-2026`; staff
    in the first store, the technician in the last), enables the plugin (its first-time seeding runs), then calls
    `load(ctx)` inside the tenant with a `DemoContext`. Everything is one transaction: a failing loader leaves no
    half-filled tenant behind (the tenant row is removed again)."""

    slug: str
    name: str
    stores: tuple
    load: Callable[[Any], Any]
    description: str = ""


@dataclass(frozen=True)
class DemoContext:
    """What a `DemoTenant.load` gets: the tenant, its stores (in the order given), its users by role code
    (owner, admin, manager, advisor, technician), a seeded `random.Random` and the tenant's today."""

    tenant: Any
    stores: list
    users: dict
    rng: Any
    today: Any


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a customer's timeline. `kind` groups entries for filtering (plugins: their name)."""

    at: Any  # aware datetime
    kind: str
    title: str
    body: str | None = None
    url: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class TimelineSource:
    """One kind of line on a customer's timeline, given as a select the core unions with every other source's: a page
    of the timeline is one statement, however many modules and plugins contribute to it.

    `rows(customer_id)` returns a select of two labelled columns about that customer — `at` (timestamptz, the line's
    time) and `data` (a jsonb object, usually `func.jsonb_build_object(...)`, of what `entry` needs) — without order,
    limit or time filter: the core adds `at < before`, orders by `at` and limits. `customer_id` is a bound parameter
    (the statement is compiled once and reused), so compare it, do not read it. Write money and other exact numbers
    into `data` as text (`cast(x, Text)`): jsonb numbers come back as floats.
    `entry(at, data)` turns a row into a `TimelineEntry` in the reader's language (it runs in the request).
    `kind` is the entries' kind for filtering (`?kinds=`): your plugin's name, or a core kind."""

    code: str  # unique: "<plugin>.<what>", e.g. "smart_home.work_orders"
    kind: str
    rows: Callable[[Any], Any]
    entry: Callable[[Any, dict], TimelineEntry]


@dataclass(frozen=True)
class Permission:
    """A permission a role may hold: code `<plugin>.<action>`, a lazy label, and the group it is listed under."""

    code: str  # "customers.view"
    label: object  # a lazy_gettext string
    group: object


class PermissionRegistry:
    """Every permission the core and the plugins registered (`register_permissions`), by code."""

    def __init__(self) -> None:
        self._by_code: dict[str, Permission] = {}

    def add(self, permission: Permission) -> None:
        if permission.code in self._by_code:
            raise ValueError(f"permission {permission.code!r} registered twice")
        self._by_code[permission.code] = permission

    def __contains__(self, code: str) -> bool:
        return code in self._by_code

    def all(self) -> list[Permission]:
        return list(self._by_code.values())

    def codes(self) -> list[str]:
        return list(self._by_code)

    def grouped(self) -> list[tuple[object, list[Permission]]]:
        groups: dict[str, tuple[object, list[Permission]]] = {}
        for p in self._by_code.values():
            groups.setdefault(str(p.group), (p.group, []))[1].append(p)
        return list(groups.values())
