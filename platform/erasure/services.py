"""Erasing one customer for good, at their request (PIPL Art. 47: 删除权).

One call, one transaction: plugins first (`customer_erasure`, while their rows can still be found), then the core
deletes or anonymises every personal value of the customer and of the records merged into them, and writes one
audit entry without personal data. A failure anywhere rolls everything back; files leave the disk only after commit.

What happens to each tenant table is decided below, table by table (docs/customers.md, "Erasure (PIPL)"):
rows other records need (the customer, assets, tasks, interactions, workflow items, rule firings, merges, audit
entries) are kept and anonymised; rows that exist only to hold personal data (identities, uploaded files, bell
notifications, import error rows, replayable API answers) are deleted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import String, cast, delete, func, or_, select, update

from ..activities.models import Interaction, Task
from ..assets.models import Asset, AssetOwnership
from ..sales.models import Payment, SalesDocument
from ..audit.models import AuditEntry
from ..audit.services import record
from ..extensions import db
from ..fields.engine import definitions
from ..fields.models import FILE_TYPES
from ..files.models import StoredFile
from ..files.storage import storage
from ..hooks.runtime import tenant_hook
from ..imports.models import ImportRowError
from ..jobs.after_commit import after_commit
from ..notifications.models import Notification, OutboxMessage
from ..rules.models import RuleFiring
from ..tenancy.models import as_id, utcnow
from ..web.idempotency import IdempotencyKey
from ..workflow.models import WorkflowItem, WorkflowStep
from ..validation import display_phone
from ..customers.models import Customer, CustomerIdentity, CustomerMerge, SavedView

PERMISSION = "customers.erase"
ERASED = "erased"  # the status of an erased customer: deleted_at is set too, so no list, search or page shows it
MASK = "[已删除]"

# Why the chain erases (the audit entry keeps the category only: a free-text reason could itself hold personal data)
REASONS = {
    "customer_request": _l("The customer asked for deletion"),
    "consent_withdrawn": _l("The customer withdrew consent"),
    "purpose_fulfilled": _l("The purpose of processing is fulfilled"),
    "retention_expired": _l("The retention period has ended"),
    "other_lawful": _l("Another lawful reason"),
}


def placeholder(customer_id: int) -> str:
    """The name an erased customer keeps, so orders and tasks that point at the record still read sensibly."""
    return f"已删除客户 #{customer_id}"


@dataclass
class ErasureResult:
    """What an erasure did: counts only, never the values."""

    customer_id: int
    reason: str
    erased_at: object
    merged_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def check(customer: Customer, reason: str | None, confirm_name: str | None) -> None:
    """The request and its confirmation: a listed reason, and the customer's name typed exactly as shown.

    ValidationError {field: [message]} when either is wrong; nothing is written."""
    errors = {}
    if reason not in REASONS:
        errors["reason"] = [_("Choose one of the listed options.")]
    if (confirm_name or "").strip() != (customer.name or "").strip():
        errors["confirm_name"] = [_("Type the customer's name exactly as shown to confirm.")]
    if errors:
        raise ValidationError(errors)


def merged_away_ids(customer_id: int) -> list[int]:
    """Ids of every record merged into this customer, directly or through a chain of merges."""
    found, frontier = [], [customer_id]
    while frontier:
        frontier = [i for i in db.session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))
                    if i not in found and i != customer_id]
        found.extend(frontier)
    return found


def plan(customer: Customer) -> dict[str, int]:
    """What an erasure of `customer` would touch (shown on the confirmation page), as counts."""
    ids = [customer.id, *merged_away_ids(customer.id)]

    def count(model, column):
        return db.session.scalar(select(func.count()).select_from(model).where(column.in_(ids))) or 0

    return {"merged": len(ids) - 1, "identities": count(CustomerIdentity, CustomerIdentity.customer_id),
            "assets": count(Asset, Asset.customer_id), "interactions": count(Interaction, Interaction.customer_id),
            "tasks": count(Task, Task.customer_id)}


def erase_customer(user, customer: Customer, reason: str | None, confirm_name: str | None) -> ErasureResult:
    """Erase `customer` (and the records merged into them) for good; `user` needs `customers.erase`.

    Checks the reason and the typed confirmation first (ValidationError, nothing written), then calls plugins'
    `customer_erasure`, then scrubs the core. Runs in the caller's transaction and does not commit."""
    if not user.has_permission(PERMISSION):
        raise PermissionError(PERMISSION)
    check(customer, reason, confirm_name)
    ids = [customer.id, *merged_away_ids(customer.id)]
    people = list(db.session.scalars(select(Customer).where(Customer.id.in_(ids))))
    needles = _needles(people)
    hook = tenant_hook("customer_erasure")
    for person in people:  # before the core scrubs, so plugins can still find their rows by id and identity
        hook(customer=person)
    counts = _scrub_core(ids, needles)
    erased_at = utcnow()
    for person in people:
        _anonymise(person, erased_at)
    db.session.flush()
    result = ErasureResult(customer_id=customer.id, reason=reason, erased_at=erased_at, merged_ids=ids[1:],
                           counts=counts)
    # who and when come from the actor; the entry names ids and counts, never a value of the person
    record("erase", "customer", customer.id, placeholder(customer.id),
           after={"reason": reason, "merged_ids": ids[1:], "counts": counts})
    return result


def scrub_audit(entity_type: str, entity_ids) -> int:
    """Keep the audit entries of these records (who did what, when) but drop their personal data: the summary
    becomes the record's number, before/after keep the field names with no values. Returns how many."""
    ids = [i for i in entity_ids if i is not None]
    if not ids:
        return 0
    rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == entity_type,
                                                            AuditEntry.entity_id.in_(ids))))
    for row in rows:
        row.summary = f"#{row.entity_id}"
        row.before = {k: None for k in row.before} if isinstance(row.before, dict) else None
        row.after = {k: None for k in row.after} if isinstance(row.after, dict) else None
    return len(rows)


def erasure_entry(customer_id: int) -> AuditEntry | None:
    """The audit entry of the erasure of `customer_id` in this tenant, or None if it was not erased."""
    return db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "customer",
                                                      AuditEntry.entity_id == customer_id,
                                                      AuditEntry.action == "erase").order_by(AuditEntry.id.desc()))


# --- the core, table by table --------------------------------------------------------------------------------------

@dataclass
class _Needles:
    """The person's values to look for in free text and JSON, and the id markers that tie a row to them."""

    identifiers: list[str]  # phones (E.164, national, as displayed), emails, identity values: unique to the person
    names: list[str]  # names: not unique, so looked for only where stated (`by_name`)
    markers: list[tuple[str, re.Pattern]]  # (literal for SQL, exact pattern): "#12", "/customers/12", …

    @property
    def all(self) -> list[str]:
        return sorted(set(self.identifiers + self.names), key=len, reverse=True)


def _needles(people: list[Customer]) -> _Needles:
    identifiers, names, markers = set(), set(), []
    for value in db.session.scalars(select(CustomerIdentity.value).where(
            CustomerIdentity.customer_id.in_([p.id for p in people]))):
        identifiers.add(value)
    for person in people:
        for value in (person.mobile, person.email):
            if value:
                identifiers.add(value)
        if person.mobile:
            identifiers.add(display_phone(person.mobile))
            if person.mobile.startswith("+86"):
                identifiers.add(person.mobile[3:])  # the national number, as people type it
        for value in (person.name, person.contact_name):
            if value and len(value.strip()) >= 2:
                names.add(value.strip())
        for literal in (f"#{person.id}", f"/customers/{person.id}", f'"customer_id": {person.id}'):
            markers.append((literal, re.compile(re.escape(literal) + r"(?!\d)")))
    return _Needles(sorted(v for v in identifiers if len(v) >= 4), sorted(names), markers)


def _replace(value, needles: list[str]):
    """`value` (text or JSON) with every needle replaced by the mask, at any depth."""
    if isinstance(value, str):
        for needle in needles:
            if needle.lower() in value.lower():
                value = re.sub(re.escape(needle), MASK, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, list):
        return [_replace(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, needles) for k, v in value.items()}
    return value


def _mentions(model, columns, needles: _Needles, *, by_name: bool = False) -> list:
    """Rows of `model` whose text or JSON columns hold an identifier or an id marker of the person (or, `by_name`,
    their name). Identifiers and markers are unique to the person; a name is not, so only delivery logs and the
    bell, which exist for a moment and for staff, are searched by name (a namesake's message may lose the name)."""
    import json

    literals = needles.identifiers + [m[0] for m in needles.markers] + (needles.names if by_name else [])
    texts = [cast(c, String) for c in columns]
    conditions = [t.ilike(f"%{_like(v)}%") for t in texts for v in literals]
    rows = list(db.session.scalars(select(model).where(or_(*conditions)))) if conditions else []

    def about(row) -> bool:  # the SQL filter is coarse ("#12" also finds "#123"); this is exact
        text = " ".join(json.dumps(getattr(row, c.key), ensure_ascii=False, default=str) for c in columns).lower()
        return (any(v.lower() in text for v in needles.identifiers)
                or any(pattern.search(text) for _lit, pattern in needles.markers)
                or (by_name and any(n.lower() in text for n in needles.names)))

    return [r for r in rows if about(r)]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scrub_core(ids: list[int], needles: _Needles) -> dict[str, int]:
    counts: dict[str, int] = {}
    asset_ids = list(db.session.scalars(select(Asset.id).where(Asset.customer_id.in_(ids))))
    task_ids = list(db.session.scalars(select(Task.id).where(or_(
        Task.customer_id.in_(ids), (Task.related_type == "asset") & Task.related_id.in_(asset_ids or [-1])))))
    interaction_ids = list(db.session.scalars(select(Interaction.id).where(Interaction.customer_id.in_(ids))))
    item_ids = list(db.session.scalars(select(WorkflowItem.id).where(or_(
        (WorkflowItem.entity == "customer") & WorkflowItem.record_id.in_(ids),
        (WorkflowItem.entity == "asset") & WorkflowItem.record_id.in_(asset_ids or [-1])))))
    identity_ids = list(db.session.scalars(select(CustomerIdentity.id).where(CustomerIdentity.customer_id.in_(ids))))

    # photos and files: custom values of the person and their assets, and pictures taken at their workflow steps
    counts["files"] = _delete_files(ids, asset_ids, item_ids)

    # identities: deleted, so the phone, VIN and plate can identify someone else (One-ID)
    counts["identities"] = len(identity_ids)
    db.session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id.in_(ids)))

    # assets: kept (service history, orders point at them) without identifiers or personal attributes
    now = utcnow()
    for asset in db.session.scalars(select(Asset).where(Asset.id.in_(asset_ids or [-1]))):
        asset.name, asset.attributes, asset.custom, asset.notes = f"{MASK} #{asset.id}", {}, {}, None
        asset.deleted_at = asset.deleted_at or now
    counts["assets"] = len(asset_ids)
    db.session.execute(update(AssetOwnership).where(or_(AssetOwnership.customer_id.in_(ids),
                                                        AssetOwnership.asset_id.in_(asset_ids or [-1])))
                       .values(note=None))

    # quotes and orders: kept (the books must balance), without the name, the drawn signature and free text
    counts["sales_documents"] = db.session.execute(
        update(SalesDocument).where(SalesDocument.customer_id.in_(ids))
        .values(accepted_name=None, signature=None, notes=None, closed_reason=None)).rowcount
    db.session.execute(update(Payment).where(Payment.customer_id.in_(ids)).values(note=None))

    # interactions and tasks: kept for staff workload and counts, their text removed
    db.session.execute(update(Interaction).where(Interaction.id.in_(interaction_ids or [-1])).values(body=MASK))
    db.session.execute(update(Task).where(Task.id.in_(task_ids or [-1])).values(title=MASK, notes=None))
    counts["interactions"], counts["tasks"] = len(interaction_ids), len(task_ids)

    # workflow items about them: finished (nobody works on an erased person), title and comments removed
    db.session.execute(update(WorkflowItem).where(WorkflowItem.id.in_(item_ids or [-1]))
                       .values(title=MASK, pending=None, finished_at=func.coalesce(WorkflowItem.finished_at, now)))
    db.session.execute(update(WorkflowStep).where(WorkflowStep.item_id.in_(item_ids or [-1]))
                       .values(comment=None, files=[]))
    counts["workflow_items"] = len(item_ids)

    # rule firings: kept (idempotency of rules), their outcome lines may name the person
    db.session.execute(update(RuleFiring).where(RuleFiring.customer_id.in_(ids)).values(outcome=[]))

    # merges among these records: kept as facts, without the snapshot of the survivor's old values
    db.session.execute(update(CustomerMerge).where(CustomerMerge.survivor_id.in_(ids))
                       .values(survivor_before={}, moved_identity_ids=[]))

    # the audit log: every entry about these records keeps who and when, loses the values
    audited = sum(scrub_audit(kind, record_ids) for kind, record_ids in (
        ("customer", ids), ("identity", identity_ids), ("asset", asset_ids), ("task", task_ids),
        ("interaction", interaction_ids), ("workflow_item", item_ids)))
    # … and entries about other records that quote them (a merge into someone else, a deleted identity)
    for row in _mentions(AuditEntry, (AuditEntry.summary, AuditEntry.before, AuditEntry.after), needles):
        row.summary = _replace(row.summary, needles.all)[:300]
        row.before, row.after = _replace(row.before, needles.all), _replace(row.after, needles.all)
        audited += 1
    counts["audit_entries"] = audited

    # messages to them or about them: never sent now, their text and recipient removed
    columns = (OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.body, OutboxMessage.payload)
    messages = _mentions(OutboxMessage, columns, needles, by_name=True)
    for row in messages:
        row.recipient, row.subject, row.body = MASK, _replace(row.subject, needles.all), MASK
        row.payload = {k: v for k, v in (row.payload or {}).items() if k == "endpoint_id"}
        if row.status == "pending":
            row.status = "skipped"
    counts["messages"] = len(messages)

    # the bell: notifications about them or their tasks are deleted
    columns = (Notification.title, Notification.body, Notification.url)
    gone = {n.id for n in _mentions(Notification, columns, needles, by_name=True)}
    if item_ids:  # "approval needed", "overdue" … of their workflow items
        gone.update(db.session.scalars(select(Notification.id).where(
            func.substring(Notification.url, r"/workflows/items/(\d+)$").in_([str(i) for i in item_ids]))))
    if gone:
        db.session.execute(delete(Notification).where(Notification.id.in_(gone)))
    counts["notifications"] = len(gone)

    # import error rows holding their values, and API answers kept for Idempotency-Key replays
    for model, columns in ((ImportRowError, (ImportRowError.values, ImportRowError.messages)),
                           (IdempotencyKey, (IdempotencyKey.body,))):
        gone = [r.id for r in _mentions(model, columns, needles)]
        if gone:
            db.session.execute(delete(model).where(model.id.in_(gone)))
        counts[model.__tablename__] = len(gone)

    # saved list views searching for them by phone
    for view in _mentions(SavedView, (SavedView.query,), needles):
        view.query = {k: v for k, v in (view.query or {}).items() if k != "q"}
    return counts


def _delete_files(ids, asset_ids, item_ids) -> int:
    file_ids: set[int] = set()
    for entity, model, record_ids in (("customer", Customer, ids), ("asset", Asset, asset_ids)):
        codes = [d.code for d in definitions(entity, include_archived=True) if d.type in FILE_TYPES]
        if not codes or not record_ids:
            continue
        for custom in db.session.scalars(select(model.custom).where(model.id.in_(record_ids))):
            for code in codes:
                values = (custom or {}).get(code)
                if isinstance(values, list):
                    file_ids.update(i for i in map(as_id, values) if i is not None)
    for files in db.session.scalars(select(WorkflowStep.files).where(WorkflowStep.item_id.in_(item_ids or [-1]))):
        file_ids.update(files or [])
    rows = list(db.session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids or {-1}))))
    keys = [k for f in rows for k in (f.key, f.thumbnail_key) if k]
    if rows:
        db.session.execute(delete(StoredFile).where(StoredFile.id.in_([f.id for f in rows])))

        def remove_bytes(backend=storage()):  # after commit: a rolled-back erasure keeps every file
            for key in keys:
                backend.delete_prefix(key)

        after_commit(remove_bytes)
    return len(rows)


def _anonymise(person: Customer, erased_at) -> None:
    """The customer row stays (orders, tasks and assets point at it) with nothing personal left in it."""
    person.name = placeholder(person.id)
    for column in ("contact_name", "mobile", "email", "gender", "birthday", "city", "address", "source", "notes",
                   "level"):
        setattr(person, column, None)
    person.tags, person.custom, person.consents = [], {}, {}
    person.status = ERASED
    person.deleted_at = person.deleted_at or erased_at
