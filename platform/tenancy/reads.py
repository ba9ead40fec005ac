"""The read session: heavy reads (list counts, exports, reports, dashboards) go to a replica when there is one.

    from storecrm.tenancy.reads import read_session

    with read_session() as reads:
        total = reads.scalar(select(func.count()).select_from(Customer))

`READ_DATABASE_URL` names a streaming replica (the app role on it); unset, the read session opens its own
connection to the primary. Either way:

- the tenant scope applies exactly as on `db.session` (the ORM criteria and, per transaction,
  `set_config('app.tenant_id', …, true)`, so row-level security holds on the replica too);
- the transaction is READ ONLY (`set_config('transaction_read_only', 'on', true)` in the same statement): a write
  through it is refused by PostgreSQL, on the primary as on the replica;
- it does not see what the current request has written but not committed, and on a replica it may be behind the
  primary by up to `READ_MAX_LAG_SECONDS` (default 30): a replica further behind, or unreachable, is not used and
  the read goes to the primary (logged), so a read is never staler than that bound.

Nothing here is session-level state on the connection, so it works through pgbouncer in transaction mode.
"""
from __future__ import annotations

import contextlib
import logging
import time

from flask import current_app, has_app_context
from sqlalchemy import create_engine, exc as sa_exc, text
from sqlalchemy.orm import Session

from ..extensions import db
from .scoping import READ_ONLY

log = logging.getLogger("storecrm.tenancy")

_LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END")
_LAG_CHECK_EVERY = 5.0  # seconds between two lag checks of the replica by one process


def replica_engine():
    """The engine of READ_DATABASE_URL, or None when no replica is configured."""
    url = current_app.config.get("READ_DATABASE_URL")
    if not url:
        return None
    ext = current_app.extensions
    if "storecrm_read_engine" not in ext:
        ext["storecrm_read_engine"] = create_engine(url, pool_size=5, max_overflow=5,
                                                    connect_args={"connect_timeout": 2})
        ext["storecrm_read_lag_checked"] = [0.0, True]
    return ext["storecrm_read_engine"]


def _replica_usable(engine) -> bool:
    """Reachable and no more than READ_MAX_LAG_SECONDS behind (checked at most every few seconds per process)."""
    checked = current_app.extensions["storecrm_read_lag_checked"]
    now = time.monotonic()
    if now - checked[0] < _LAG_CHECK_EVERY:
        return checked[1]
    bound = float(current_app.config.get("READ_MAX_LAG_SECONDS", 30))
    try:
        with engine.connect() as conn:
            lag = float(conn.execute(_LAG_SQL).scalar() or 0)
        usable = lag <= bound
        if not usable:
            log.warning("read replica is %.1f s behind (bound %.0f s): reading from the primary", lag, bound)
    except sa_exc.DBAPIError as exc:
        log.warning("read replica unreachable, reading from the primary: %s", exc.__class__.__name__)
        usable = False
    checked[:] = [now, usable]
    return usable


def read_bind():
    """Where the next read session goes: the replica when configured and usable, else the primary."""
    engine = replica_engine()
    if engine is not None and _replica_usable(engine):
        return engine
    return db.engine


def _mark_unusable() -> None:
    checked = current_app.extensions.get("storecrm_read_lag_checked")
    if checked is not None:
        checked[:] = [time.monotonic(), False]


@contextlib.contextmanager
def read_session():
    """A tenant-scoped, READ ONLY session on the replica (or the primary); closed (rolled back) at the end.

    The transaction is begun here: a replica that went away since the last check fails now, before any caller's
    query, and the read goes to the primary instead (one warning, then the replica is left alone until the next
    check). A replica lost in the middle of a read fails that read like the primary would (503)."""
    bind = read_bind()
    session = Session(bind=bind, info={READ_ONLY: True}, expire_on_commit=False, autoflush=False)
    if bind is not db.engine:
        try:
            session.connection()  # begins: set_config of tenant and read-only, on the replica
        except sa_exc.DBAPIError as exc:
            log.warning("read replica lost, reading from the primary: %s", exc.__class__.__name__)
            session.close()
            _mark_unusable()
            session = Session(bind=db.engine, info={READ_ONLY: True}, expire_on_commit=False, autoflush=False)
    try:
        yield session
    finally:
        session.close()


def dispose_read_engine() -> None:
    if has_app_context():
        engine = current_app.extensions.pop("storecrm_read_engine", None)
        if engine is not None:
            engine.dispose()
