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
class WorkflowDefinition:
    code: str
    label: Any
    entity: str
    states: tuple
    transitions: tuple  # (from, to, label)


@dataclass(frozen=True)
class RuleTrigger:
    code: str
    label: Any


@dataclass(frozen=True)
class RuleCondition:
    code: str
    label: Any
    evaluate: Callable[..., bool]


@dataclass(frozen=True)
class RuleAction:
    code: str
    label: Any
    params: Any  # a marshmallow Schema class validating the action's parameters
    run: Callable[..., Any]  # run(record, params) inside the tenant's transaction


@dataclass(frozen=True)
class NotificationChannel:
    code: str
    label: Any
    send: Callable[..., Any]


@dataclass(frozen=True)
class Kpi:
    """A number with a written definition; `compute(user)` runs inside the tenant and returns it."""

    code: str
    label: Any
    definition: Any
    compute: Callable[..., Any]
    permission: str | None = None


@dataclass(frozen=True)
class DashboardWidget:
    code: str
    label: Any
    template: str  # rendered with `widget` and `user`
    permission: str | None = None


@dataclass(frozen=True)
class CustomerPanel:
    """A box on the customer page: `template` is rendered with `customer` and whatever `context(customer)` returns."""

    code: str
    label: Any
    template: str
    context: Callable[..., dict] = lambda customer: {}
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class ImportMapping:
    code: str
    label: Any
    columns: dict = field(default_factory=dict)  # header -> field


@dataclass(frozen=True)
class PeriodicJob:
    """`run()` is called inside each tenant that has the plugin enabled, on the cron schedule."""

    code: str
    cron: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a customer's timeline. `kind` groups entries for filtering (plugins: their name)."""

    at: Any  # aware datetime
    kind: str
    title: str
    body: str | None = None
    url: str | None = None
    actor: str | None = None
