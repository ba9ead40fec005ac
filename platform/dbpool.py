"""Pooled connections are checked before use only when they sat idle.

`pool_pre_ping` pings on every checkout: a round trip per request and per connection a request uses (bench B2 and
B4, where the raw-SQL baseline sends none). A connection handed back less than IDLE_PING_SECONDS ago was working
then; one idle for longer may have been cut (a database restart, a proxy's idle timeout) and is pinged first, and
replaced when the ping fails — SQLAlchemy's "pessimistic disconnect handling" with an idle threshold. A database
that restarts under a busy process costs the requests already holding a connection a 503 (storecrm.web.errors);
SQLAlchemy then drops the pool's other connections, and the next requests reconnect.
"""
from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

IDLE_PING_SECONDS = 2.0
_CHECKED_IN = "storecrm_checked_in"


@event.listens_for(Pool, "checkin")
def _stamp(dbapi_connection, record) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, proxy) -> None:
    last = record.info.get(_CHECKED_IN)
    if last is None or time.monotonic() - last < IDLE_PING_SECONDS:
        return  # just connected, or in use a moment ago
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as exc:  # the pool retries with a new connection
        raise DisconnectionError("a pooled connection failed its ping") from exc
