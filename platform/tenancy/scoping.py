"""The two enforcement layers, wired into SQLAlchemy.

1. ORM: every select/update/delete that touches a TenantScoped model gets
   `tenant_id = <current tenant>` through with_loader_criteria; with no tenant it raises.
2. RLS: every transaction of the app session starts with set_config('app.tenant_id', …, true),
   i.e. SET LOCAL, which the row-level security policies read.
"""
from __future__ import annotations

import contextlib
import functools
import logging

from flask import current_app, has_app_context
from sqlalchemy import BigInteger, bindparam, create_engine, event
from sqlalchemy.orm import Session, with_loader_criteria

from .context import TenantContextMissing, current_tenant_id
from .models import TenantScoped

READ_ONLY = "storecrm_read_only"  # session.info flag of storecrm.tenancy.reads.read_session

log = logging.getLogger("storecrm.tenancy")

UNSCOPED = "storecrm_unscoped"


def _touches_tenant_table(state) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state) -> None:
    if state.session.info.get(UNSCOPED):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tid = current_tenant_id()
    if tid is None:
        if _touches_tenant_table(state):
            raise TenantContextMissing("query on a tenant table with no tenant in context")
        return
    criteria = _tenant_criteria(tid)
    # A refresh or lazy load carries the options of the load that got the object, ours among them (they propagate),
    # and its options become the object's again: adding ours once more grew them by one on every refresh, so a job
    # that refreshes its run each batch compiled a statement with one more criteria each time (uncacheable, 150 ms a
    # refresh by the 200th batch of an import, B7).
    if any(option is criteria for option in state.statement._with_options):
        return
    state.statement = state.statement.options(criteria)


@functools.lru_cache(maxsize=4096)
def _tenant_criteria(tid: int):
    """The ORM layer's criteria for one tenant, one option object per tenant, so a statement that already holds it is
    known by identity."""
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tid, include_aliases=True)


@event.listens_for(Session, "after_begin")
def _set_local_tenant(session, transaction, connection) -> None:
    if session.info.get(UNSCOPED):
        return
    tid = current_tenant_id()
    # transaction-local (`true`): nothing is left on the connection for the next transaction, which under
    # pgbouncer's transaction pooling may be another tenant's request (docs/deployment.md, "Connection pooling")
    statement = ("SELECT set_config('app.tenant_id', %(tid)s, true), set_config('transaction_read_only', 'on', true)"
                 if session.info.get(READ_ONLY) else "SELECT set_config('app.tenant_id', %(tid)s, true)")
    connection.exec_driver_sql(statement, {"tid": "" if tid is None else str(tid)})


@event.listens_for(Session, "before_flush")
def _stamp_and_check_new_rows(session, flush_context, instances) -> None:
    if session.info.get(UNSCOPED):
        return
    tid = current_tenant_id()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        if tid is None:
            raise TenantContextMissing(f"writing {type(obj).__name__} with no tenant in context")
        if obj.tenant_id is None:
            obj.tenant_id = tid
        elif obj.tenant_id != tid:
            raise TenantContextMissing(f"{type(obj).__name__} of tenant {obj.tenant_id} written as tenant {tid}")


_WALL = bindparam("tenant_wall", type_=BigInteger)


class Precompiled:
    """A tenant-scoped SELECT compiled to SQL once, run many times with new parameters.

    For statements that take less time in PostgreSQL than SQLAlchemy takes to prepare them (its cache key, the ORM
    compile state, the tenant criteria event, the result's processing: ~0.25 ms): the report engine's KPI values.
    The tenant criteria the ORM event would add are compiled in, every tenant table `tenant_id = %(tenant_wall)s`,
    and bound to the tenant in context at each run (none: TenantContextMissing), so both walls stay: the statement's
    own criteria and RLS. Parameters get their types' processing (the statement's literals once, here); the rows come
    as the driver gives them (no result type processing). Expanding IN lists are refused (ValueError)."""

    def __init__(self, statement, dialect):
        walled = statement.options(with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == _WALL, include_aliases=True, track_closure_variables=False))
        compiled = walled.compile(dialect=dialect)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a precompiled statement's parameters cannot be expanded lists")
        processors = compiled._bind_processors  # noqa: SLF001 - the literals' own type processing, done once here
        self.defaults = {k: processors[k](v) if k in processors and v is not None else v
                         for k, v in compiled.params.items()}
        self._processors = dict(processors)

    def execute(self, session: Session, params: dict):
        """The driver's result of the statement with `params` over the session's connection (its transaction, with
        `app.tenant_id` set), as the tenant in context."""
        tid = current_tenant_id()
        if tid is None or session.info.get(UNSCOPED):
            raise TenantContextMissing("a precompiled tenant statement runs as the tenant in context")
        values = {**self.defaults, **params, "tenant_wall": tid}
        for key in self._processors.keys() & params.keys():
            if values[key] is not None:
                values[key] = self._processors[key](values[key])
        return session.connection().exec_driver_sql(self.sql, values)


def system_engine():
    """Engine of the narrow system role (BYPASSRLS, no DDL); only `unscoped` uses it."""
    ext = current_app.extensions
    if "storecrm_system_engine" not in ext:
        ext["storecrm_system_engine"] = create_engine(
            current_app.config["DATABASE_SYSTEM_URL"], pool_size=2, max_overflow=2
        )
    return ext["storecrm_system_engine"]


@contextlib.contextmanager
def unscoped(reason: str, *, routine: bool = False):
    """Yield a session that crosses tenants, on the system role's own connection.

    Every use is logged with its reason: a warning, or at INFO for `routine` ones (the scheduler's sweeps every
    minute, which would otherwise bury the unusual uses). Commits on success, rolls back on error.
    """
    if not reason or len(reason) < 10:
        raise ValueError("unscoped() needs a reason a reviewer can read")
    log.log(logging.INFO if routine else logging.WARNING, "unscoped access: %s", reason,
            extra={"unscoped_reason": reason})
    session = Session(bind=system_engine(), info={UNSCOPED: True}, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_system_engine() -> None:
    if has_app_context():
        engine = current_app.extensions.pop("storecrm_system_engine", None)
        if engine is not None:
            engine.dispose()
