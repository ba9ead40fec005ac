"""Imports: upload, map columns, preview, then a background job that validates every row and upserts it, batch
by batch, so that a restarted worker resumes where it stopped and a re-run creates no duplicates. Customers are
upserted by identity (One-ID) here; a plugin's records through its ImportMapping (imports.mapped), with the same
wizard, job, lease and error report.

The job holds a lease on its run: `heartbeat_at` is renewed with every batch, and each batch locks the run row
and checks that `attempt` is still the job's own claim. A run whose lease went stale (its worker died, its queued
message was lost) is queued again by a periodic sweep or the page's Resume button; the new job claims the next
attempt, which fences off an old job that was only slow, so no row is applied twice."""
from __future__ import annotations

import functools
import itertools
import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import delete, func, select, text

from ..audit.services import Actor, acting_as, record
from ..customers import identities
from ..customers import services as customers
from ..customers.models import Customer
from ..customers.schemas import CustomerSchema
from ..extensions import db
from ..jobs.after_commit import after_commit
from ..stores.models import Store
from ..tenancy.context import TenantRef, require_tenant_id, tenant_context
from ..tenancy.models import current_tenant_row, get_scoped, utcnow
from ..tenancy.scoping import unscoped
from ..users.models import User
from ..web.forms import flatten_errors
from . import files, mapped, mapping, matching
from .models import ImportRowError, ImportRun, SavedMapping

BATCH = 500  # rows per transaction: the progress bar moves about every second
LEASE = timedelta(minutes=5)  # a batch takes seconds; this long without one, the job is taken as dead
PEEK_ROWS = 1000  # the upload request looks this far for a first data row, and counts nothing
log = logging.getLogger("storecrm.imports")
GENDERS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F", "先生": "M", "女士": "F"}


def create_run(user, filename: str, data: bytes, kind: str = mapping.CUSTOMERS) -> ImportRun:
    """Store the file and read its header; the job counts the rows (a big sheet takes longer than a request).
    `kind`: customers, or the code of an ImportMapping `mapped.offered` to the user."""
    if kind != mapping.CUSTOMERS and kind not in mapped.offered(user):
        raise ValidationError({"kind": [_("Choose one of the listed options.")]})
    try:
        files.check_upload(filename, data)
        stored = files.store_upload(user.tenant_id, filename, data)
        with closing(files.rows(files.open_path(stored))) as iterator:
            headers = next(iterator, None)
            empty = not any(any(row) for row in itertools.islice(iterator, PEEK_ROWS))
    except files.UnpacksTooLarge:
        raise ValidationError({"file": [_("This workbook unpacks to more than %(mb)d MB. Save it as a .csv file "
                                          "or split it into smaller files.", mb=files.MAX_UNPACKED_BYTES >> 20)]})
    except files.UnreadableFile:
        raise ValidationError({"file": [_("Upload an .xlsx workbook or a .csv file of at most 20 MB.")]})
    if not headers or not any(headers):
        raise ValidationError({"file": [_("The first row must hold the column names.")]})
    if empty:
        raise ValidationError({"file": [_("The file has no rows below the column names.")]})
    saved = db.session.scalar(select(SavedMapping).where(SavedMapping.kind == kind,
                                                         SavedMapping.signature == mapping.signature(headers)))
    known = _targets(user, kind)
    run = ImportRun(user_id=user.id, kind=kind, filename=(filename or "upload")[:200], stored_as=stored,
                    headers=headers, mapping=mapping.clean(saved.mapping if saved else mapping.guess(headers, known),
                                                           len(headers), known))
    db.session.add(run)
    db.session.flush()
    record("create", "import", run.id, run.filename)
    return run


def kinds_offered(user) -> dict:
    """{kind: label} for "What are you importing?": customers first, then the enabled plugins' mappings."""
    return {mapping.CUSTOMERS: _("Customers"), **{code: m.label for code, m in mapped.offered(user).items()}}


def plugin_mapping(user, run: ImportRun):
    """The ImportMapping of a plugin record import (None for customers); ValidationError when its plugin is off
    for the tenant now, or the user may no longer import it."""
    if run.kind == mapping.CUSTOMERS:
        return None
    target = mapped.offered(user).get(run.kind)
    if target is None:
        raise ValidationError({"kind": [_("What this file imports is not available: its module is switched off "
                                          "or you may not import it.")]})
    return target


def _targets(user, kind: str) -> dict:
    return mapping.targets() if kind == mapping.CUSTOMERS else mapped.targets(mapped.offered(user)[kind])


def targets_of(user, run: ImportRun) -> dict:
    """{field: (label, recognised headers)} the mapping page offers for this run's columns ({} when unavailable)."""
    try:
        target = plugin_mapping(user, run)
    except ValidationError:
        return {}
    return mapping.targets() if target is None else mapped.targets(target)


def get_run(user, run_id) -> ImportRun | None:
    run = get_scoped(ImportRun, run_id)
    if run is None or not (user.sees_all_stores or run.user_id == user.id):
        return None
    return run


def set_mapping(user, run: ImportRun, raw_mapping: dict, default_store_id, update_existing: bool = True,
                skip_rows=()) -> None:
    """The column mapping and the choices of the preview: the store for rows without one, whether customers the
    file finds are updated or left as they are, and which row numbers to leave out."""
    if run.status != "uploaded":
        raise ValidationError({"mapping": [_("This import has already started.")]})
    target = plugin_mapping(user, run)
    if target is not None:
        _set_plugin_mapping(run, target, raw_mapping)
        return
    cleaned = mapping.clean(raw_mapping, len(run.headers))
    errors = {}
    if "name" not in cleaned.values():
        errors["mapping"] = [_("Choose the column that holds the customer's name.")]
    store = get_scoped(Store, default_store_id) if default_store_id else None
    if store is None or not (user.sees_all_stores or store.id in user.store_ids):
        errors["default_store_id"] = [_("Choose one of your stores.")]
    if errors:
        raise ValidationError(errors)
    run.mapping, run.default_store_id = cleaned, store.id
    run.update_existing, run.skip_rows = bool(update_existing), sorted({int(n) for n in skip_rows})[:10000]
    _remember_mapping(run)


def _set_plugin_mapping(run: ImportRun, target, raw_mapping: dict) -> None:
    """A plugin record has no store of its own here: its columns are all there is to choose."""
    cleaned = mapping.clean(raw_mapping, len(run.headers), mapped.targets(target))
    missing = mapped.missing_columns(target, cleaned)
    if missing:
        raise ValidationError({"mapping": [_("Choose the columns for: %(fields)s.", fields=", ".join(missing))]})
    run.mapping = cleaned
    _remember_mapping(run)


def _remember_mapping(run: ImportRun) -> None:
    signature = mapping.signature(run.headers)
    saved = db.session.scalar(select(SavedMapping).where(SavedMapping.kind == run.kind,
                                                         SavedMapping.signature == signature))
    if saved is None:
        db.session.add(SavedMapping(kind=run.kind, signature=signature, mapping=run.mapping))
    else:
        saved.mapping = run.mapping


def _stores_by_key() -> dict[str, int]:
    out = {}
    for store in db.session.scalars(select(Store)):
        out[store.code.lower()] = store.id
        out[store.name.lower()] = store.id
    return out


@functools.lru_cache(maxsize=1)
def _customer_schema() -> CustomerSchema:
    """One instance for every row: building a marshmallow schema costs more than loading a row with it."""
    return CustomerSchema()


def parse_row(user, run: ImportRun, values: list[str], stores: dict,
              default_store_id: int | None = None) -> tuple[dict, dict, dict]:
    """(customer data, {identity kind: normal form}, errors) for one spreadsheet row; errors are keyed by the
    mapping's field names (store, not store_id), so the pages can label them. `default_store_id`: the store for
    rows without one when the run has none yet (the preview, before the mapping is saved)."""
    default_store_id = run.default_store_id or default_store_id
    record_ = {field: (values[int(col)] if int(col) < len(values) else "") for col, field in run.mapping.items()}
    errors: dict[str, list] = {}
    schema = _customer_schema()
    raw = {k: v for k, v in record_.items() if k in schema.fields and v != ""}
    if "gender" in raw:
        raw["gender"] = GENDERS.get(raw["gender"].strip().lower(), raw["gender"])
    store_key = record_.get("store", "").strip().lower()
    if store_key:
        if store_key not in stores:
            errors["store"] = [_("No store with this code or name.")]
        raw["store_id"] = stores.get(store_key, default_store_id)
    else:
        raw["store_id"] = default_store_id
    raw.setdefault("name", "")
    custom = {k[7:]: v for k, v in record_.items() if k.startswith("custom:") and v != ""}
    if custom:
        raw["custom"] = custom
    data = {}
    try:
        data = schema.load(raw)
    except ValidationError as err:
        flat = flatten_errors(err.messages)
        if "store_id" in flat:
            flat["store"] = errors.get("store") or [_("Choose the store for rows without one.")]
            del flat["store_id"]
        errors.update(flat)
    found = {}
    for kind in mapping.IDENTITY_FIELDS:
        value = record_.get(kind, "")
        if value:
            try:
                found[kind] = data.get(kind) if kind in ("mobile", "email") and data.get(kind) else \
                    identities.normalize(kind, value)
            except ValidationError as err:
                errors[kind] = flatten_errors(err.messages).get("value", [_("Invalid value.")])
    return data, found, errors


def _names(user, customer_ids) -> dict[int, str]:
    """{id: name} of the given customers that `user` may see (one query)."""
    ids = [i for i in set(customer_ids) if i > 0]
    if not ids:
        return {}
    return dict(db.session.execute(customers.visible(user, select(Customer.id, Customer.name)
                                                      .where(Customer.id.in_(ids)))).all())


def _upsert(user, run: ImportRun, data: dict, found: dict) -> str:
    """Create, or fold into the one customer the identities point at: 'created', 'updated' or 'skipped'
    (existing customers are left alone on this run); a conflict (matching.match) raises Conflict."""
    owners = identities.owners(list(found.items()))
    result = matching.match(data.get("name"), found, owners, _names(user, owners.values()))
    if result.outcome == matching.CONFLICT:
        raise Conflict(result.reason)
    extra = {k: v for k, v in found.items() if k not in ("mobile", "email")}
    if result.outcome == matching.UPDATE:
        if not run.update_existing:
            return "skipped"
        target, outcome = customers._fold_into(customers.get_customer(user, result.customer_id), data), "updated"
    else:
        target, outcome = customers.create_customer(user, data), "created"
    for kind, value in extra.items():
        identities.add(target, kind, value)
    return outcome


class Conflict(Exception):
    """A row that would fold one person into another: reported, never written."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def preview(user, run: ImportRun, limit: int = 20, default_store_id: int | None = None) -> list[PreviewRow]:
    """The first rows, each with what the import would do with it — a new customer, an update of whom (found by
    what), a conflict or the row's errors — judged exactly as the job will judge it, earlier rows of the file
    included; nothing is written."""
    target = plugin_mapping(user, run)
    if target is not None:
        rows = list(itertools.islice(_numbered_rows(run), limit))
        return [PreviewRow(number, values, errors, None, "")
                for number, values, _data, errors in mapped.load_rows(user, run, target, rows)]
    stores = _stores_by_key()
    parsed = [(number, values, *parse_row(user, run, values, stores, default_store_id))
              for number, values in itertools.islice(_numbered_rows(run), limit)]
    owners = identities.owners([pair for *_x, found, errors in parsed if not errors for pair in found.items()])
    names = _names(user, owners.values())
    out = []
    for number, values, data, found, errors in parsed:
        if errors:
            out.append(PreviewRow(number, values, errors, None, ""))
            continue
        result = matching.match(data.get("name"), found, owners, names)
        if result.outcome == matching.NEW:  # later rows with these details are this person, as in the job
            names[-number] = data.get("name")
            owners.update({pair: -number for pair in found.items()})
        out.append(PreviewRow(number, values, {}, result.outcome, matching.describe(result, names)))
    return out


@dataclass(frozen=True)
class PreviewRow:
    """A row of the preview: `outcome` new | update | conflict (None with errors), `summary` says it in words."""

    number: int
    values: list
    errors: dict
    outcome: str | None
    summary: str


def _numbered_rows(run: ImportRun, start: int = 0):
    """(spreadsheet row number, values) of non-empty data rows, skipping the first `start` of them."""
    seen = 0
    for number, values in enumerate(files.rows(files.open_path(run.stored_as)), start=1):
        if number == 1 or not any(values):
            continue
        if seen >= start:
            yield number, values
        seen += 1


def start(user, run: ImportRun) -> None:
    # imported here: a cycle: imports.jobs imports this module at load
    from .jobs import run_import

    if run.status != "uploaded" or not run.mapping:
        raise ValidationError({"mapping": [_("Map the columns first.")]})
    run.status, run.heartbeat_at = "queued", utcnow()

    after_commit(lambda: run_import.send(run.id))


def is_stalled(run: ImportRun) -> bool:
    """Queued or running, and no batch for longer than the lease: its job is gone."""
    return run.status in ("queued", "running") and run.heartbeat_at is not None and \
        run.heartbeat_at < utcnow() - LEASE


def resume(run: ImportRun) -> None:
    """Queue a stalled run again (the Resume button); it goes on from its last committed batch."""
    # imported here: a cycle: imports.jobs imports this module at load
    from .jobs import run_import

    if not is_stalled(run):
        raise ValidationError({"run": [_("This import is still working. It can be resumed once it has made no "
                                         "progress for a few minutes.")]})
    run.status, run.heartbeat_at = "queued", utcnow()
    record("resume", "import", run.id, run.filename)
    after_commit(lambda: run_import.send(run.id))


def requeue_stalled_runs() -> int:
    """The periodic sweep: queue again every run whose lease went stale, in every tenant; returns how many.
    Setting `heartbeat_at` now gives the new message a whole lease before the next sweep would look again;
    rows locked by a batch in progress are skipped (a job holding the lock is alive)."""
    # imported here: a cycle: imports.jobs imports this module at load
    from .jobs import run_import

    with unscoped(reason="import sweep queues again the runs whose worker stopped", routine=True) as system:
        stalled = system.execute(text(
            "WITH stalled AS (SELECT tenant_id, id FROM import_runs WHERE status IN ('queued', 'running') "
            "AND heartbeat_at < now() - make_interval(secs => :lease) FOR UPDATE SKIP LOCKED) "
            "UPDATE import_runs r SET status = 'queued', heartbeat_at = now() FROM stalled s, tenants t "
            "WHERE r.tenant_id = s.tenant_id AND r.id = s.id AND t.id = r.tenant_id AND t.status <> 'deleted' "
            "RETURNING r.tenant_id, t.slug, r.id"), {"lease": LEASE.total_seconds()}).all()
    for tenant_id, slug, run_id in stalled:
        log.warning("import %s of tenant %s stalled: queued again", run_id, tenant_id)
        with tenant_context(TenantRef(tenant_id, slug)):
            run_import.send(run_id)
    return len(stalled)


class LeaseLost(Exception):
    """A newer job claimed the run (this one was taken for dead): stop without writing."""


def _hold_lease(run: ImportRun, attempt: int) -> None:
    """Lock the run row for this transaction, check the claim is still ours and renew the heartbeat."""
    db.session.refresh(run, with_for_update=True)
    if run.attempt != attempt:
        raise LeaseLost(run.id)
    run.heartbeat_at = utcnow()


def process(run_id: int) -> None:
    """The job body: claim the run, count its rows, then batches of rows, each batch one transaction with the
    resume point in it."""
    run = db.session.get(ImportRun, (_tenant_id(), run_id), with_for_update=True, populate_existing=True)
    if run is None or run.status not in ("queued", "running"):
        return
    user = db.session.get(User, (run.tenant_id, run.user_id))
    # a redelivered message or a resume takes over: the previous claim's next batch finds it stale and stops
    run.status, run.attempt, run.heartbeat_at = "running", run.attempt + 1, utcnow()
    attempt = run.attempt
    db.session.commit()
    try:
        if run.total_rows is None and not _count_rows(user, run, attempt):
            return
        # row errors are stored as text: written in the language of the user who reads the report
        with force_locale(_locale_of(user)), acting_as(Actor(user.id, f"{user.display_name} (import #{run.id})")):
            apply = _batch_applier(user, run, attempt)
            if apply is None:
                return
            batch: list = []
            for number, values in _numbered_rows(run, start=run.processed_rows):
                batch.append((number, values))
                if len(batch) >= BATCH:
                    apply(batch)
                    batch = []
            if batch:
                apply(batch)
            _hold_lease(run, attempt)
            # the count may include rows of blanks only, which are not read as rows: the page shows what was read
            run.status, run.finished_at, run.total_rows = "done", utcnow(), run.processed_rows
            record("finish", "import", run.id,
                   f"{run.filename}: +{run.created_count} ~{run.updated_count} !{run.failed_count} "
                   f"conflicts {run.conflict_count} skipped {run.skipped_count}")
            db.session.commit()
    except LeaseLost:
        db.session.rollback()
        log.warning("import %s: a newer job took over, this one stops", run_id)
    except files.UnreadableFile as exc:
        # damage inside a sheet shows only when its rows are read: the batches before it stay imported (a re-run
        # of a repaired file recognises them), the run says what happened in its user's language
        db.session.rollback()
        log.warning("import %s: the file is damaged after %s rows: %s", run_id, run.processed_rows, exc)
        _hold_lease(run, attempt)
        with force_locale(_locale_of(user)):
            run.error = _("The file is damaged: its first %(count)d rows were imported, the rest could not be read. "
                          "Save it again from Excel and import it again; the rows already imported are recognised.",
                          count=run.processed_rows)
        run.status, run.finished_at = "failed", utcnow()
        db.session.commit()


def _locale_of(user) -> str:
    return user.locale or current_tenant_row().locale


def _batch_applier(user, run: ImportRun, attempt: int):
    """The function that applies one batch of this run's rows; None (and the run failed, nothing written) when the
    plugin record it imports is no longer available to its user."""
    try:
        target = plugin_mapping(user, run)
    except ValidationError as err:
        _hold_lease(run, attempt)
        run.status, run.error, run.finished_at = "failed", flatten_errors(err.messages)["kind"][0], utcnow()
        db.session.commit()
        return None
    if target is None:
        stores = _stores_by_key()
        return lambda batch: _process_batch(user, run, batch, stores, attempt)
    return lambda batch: _process_plugin_batch(user, run, target, batch, attempt)


def _count_rows(user, run: ImportRun, attempt: int) -> bool:
    """Count the data rows, reading no further than one past the cap; False (and the run failed, nothing
    written) when there are none or too many."""
    cap = current_app.config["STORECRM"].import_max_rows
    total = files.count_rows(files.open_path(run.stored_as), cap)
    _hold_lease(run, attempt)
    if 0 < total <= cap:
        run.total_rows = total
        db.session.commit()
        return True
    with force_locale(_locale_of(user)):
        run.error = _("The file has more than %(max)d rows. Split it into files of at most %(max)d rows each.",
                      max=cap) if total else _("The file has no rows below the column names.")
    run.status, run.finished_at = "failed", utcnow()
    db.session.commit()
    return False


def _tenant_id() -> int:
    return require_tenant_id()


def _process_batch(user, run: ImportRun, batch: list, stores: dict, attempt: int) -> None:
    """One transaction: rows whose identities nobody has are created together (one query to check every
    identity of the batch, one INSERT per table); rows that match an existing customer, or another row of the
    same batch, are folded in one by one in their own savepoint, as staff would merge them."""
    from sqlalchemy.exc import IntegrityError

    _hold_lease(run, attempt)  # first: the lock keeps a newer claim from starting until this batch commits
    outcomes: dict[int, object] = {}  # row number -> "created" | "updated" | errors
    parsed = []
    skip = set(run.skip_rows or ())
    for number, values in batch:
        if number in skip:  # left out on the preview
            outcomes[number] = "skipped"
            continue
        data, found, errors = parse_row(user, run, values, stores)
        if errors:
            outcomes[number] = errors
        else:
            parsed.append((number, data, found))
    owners = identities.owners([pair for _n, _d, found in parsed for pair in found.items()])
    fresh, one_by_one, claimed = [], [], set()
    for number, data, found in parsed:
        pairs = set(found.items())
        if pairs & claimed or any(pair in owners for pair in pairs):
            one_by_one.append((number, data, found))
        else:
            claimed |= pairs
            fresh.append((number, data, found))
    if fresh:
        try:
            with db.session.begin_nested():
                refused = customers.create_many(user, [(data, {k: v for k, v in found.items()
                                                               if k not in ("mobile", "email")})
                                                       for _n, data, found in fresh])
        except IntegrityError:  # written meanwhile by someone else: take these rows one by one
            one_by_one = sorted(fresh + one_by_one, key=lambda row: row[0])
        else:
            for index, (number, _data, _found) in enumerate(fresh):
                outcomes[number] = flatten_errors(refused[index]) if index in refused else "created"
    for number, data, found in one_by_one:
        try:
            with db.session.begin_nested():
                outcomes[number] = _upsert(user, run, data, found)
        except ValidationError as err:
            outcomes[number] = flatten_errors(err.messages)
        except Conflict as conflict:
            outcomes[number] = Conflict(conflict.reason)
    _record_outcomes(run, batch, outcomes)


def _process_plugin_batch(user, run: ImportRun, target, batch: list, attempt: int) -> None:
    """One transaction: the plugin's rows, each written by its `upsert` in its own savepoint."""
    _hold_lease(run, attempt)
    _record_outcomes(run, batch, mapped.apply_rows(user, run, target, batch))


def _record_outcomes(run: ImportRun, batch: list, outcomes: dict) -> None:
    """Count the batch, keep its row errors and move the resume point, in the batch's transaction."""
    failed = {number: messages for number, messages in outcomes.items() if isinstance(messages, dict)}
    conflicts = {number: {"_schema": [o.reason]} for number, o in outcomes.items() if isinstance(o, Conflict)}
    if failed or conflicts:  # a resumed batch may have reported these rows before the restart
        db.session.execute(delete(ImportRowError).where(ImportRowError.run_id == run.id,
                                                        ImportRowError.row_number.in_([*failed, *conflicts])))
        db.session.add_all([ImportRowError(run_id=run.id, row_number=number, values=values,
                                           messages=failed.get(number) or conflicts[number],
                                           kind="conflict" if number in conflicts else "error")
                            for number, values in batch if number in failed or number in conflicts])
    run.failed_count += len(failed)
    run.conflict_count += len(conflicts)
    run.created_count += sum(1 for o in outcomes.values() if o == "created")
    run.updated_count += sum(1 for o in outcomes.values() if o == "updated")
    run.skipped_count += sum(1 for o in outcomes.values() if o == "skipped")
    run.processed_rows += len(batch)
    db.session.commit()


def fail(run_id: int, message: str) -> None:
    run = db.session.get(ImportRun, (_tenant_id(), run_id))
    if run is not None:
        run.status, run.error, run.finished_at = "failed", message[:500], utcnow()
        db.session.commit()


def row_errors(run: ImportRun, limit: int | None = None) -> list[ImportRowError]:
    query = select(ImportRowError).where(ImportRowError.run_id == run.id).order_by(ImportRowError.row_number)
    return list(db.session.scalars(query.limit(limit) if limit else query))


def recent_runs(user, limit: int = 20) -> list[ImportRun]:
    query = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if not user.sees_all_stores:
        query = query.where(ImportRun.user_id == user.id)
    return list(db.session.scalars(query))


def error_count(run: ImportRun) -> int:
    return db.session.scalar(select(func.count()).select_from(ImportRowError).where(ImportRowError.run_id == run.id))
