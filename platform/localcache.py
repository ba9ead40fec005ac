"""In-process caches with a bounded staleness, for the look-ups every request repeats (who a token is, what a
tenant's plan allows).

Each process keeps its own entries for at most `seconds` (setting `AUTH_CACHE_SECONDS`, default 5): a change made
in another process — a revoked token, a user switched off, a tenant suspended, a plan without API access — takes
effect here within that bound. A commit in *this* process that wrote a watched model (through the ORM: a flushed
object or an `update()`/`delete()` statement on it) clears the cache at once, so the process that revokes a token
never serves it again. Writes made with raw SQL are seen after the bound.

Why not Redis: the point is to answer without a round trip (bench B1: an authenticated API call with no business
query went from 5 statements to none); a shared cache would be one round trip again.
"""
from __future__ import annotations

import re
import threading
import time

from sqlalchemy import event
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.orm import Session

MISSING = object()
_caches: list["LocalCache"] = []


class LocalCache:
    """A dict of entries that expire after `seconds` and are dropped when a transaction here wrote one of the tables
    `watch` (names, so a module low in the layers needs no model of a higher one)."""

    def __init__(self, name: str, watch: tuple[str, ...], *, max_entries: int = 10_000):
        self.name, self.watch, self.max_entries = name, frozenset(watch), max_entries
        self.seconds = 5.0
        self._entries: dict = {}
        self._generation = 0  # moves on every clear: a value read before it may be stale, and is not kept
        self._lock = threading.Lock()
        self.clock = time.monotonic  # tests move it
        _caches.append(self)

    def get(self, key):
        if self.seconds <= 0:
            return MISSING
        found = self._entries.get(key)
        if found is None or found[0] < self.clock():
            return MISSING
        return found[1]

    def stamp(self) -> int:
        """Take before reading what will be put: `put(…, stamp=)` keeps nothing when a clear came in between (another
        thread's commit while this one read, which would otherwise outlive the commit for the whole bound)."""
        return self._generation

    def put(self, key, value, *, stamp: int) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if stamp != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # a crude bound on memory; refilling costs one look-up per key
            self._entries[key] = (self.clock() + self.seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


def configure(seconds: float) -> None:
    """Set the staleness bound of every cache (the app does this from its settings)."""
    for cache in _caches:
        cache.seconds = seconds


def clear_all() -> None:
    for cache in _caches:
        cache.clear()


def _touched(session) -> set:
    return session.info.setdefault("storecrm_touched", set())


@event.listens_for(Session, "after_flush")
def _note_flushed(session, flush_context):
    touched = _touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(obj), "__tablename__", None)
        if table:
            touched.add(table)


_WRITE = re.compile(r'\s*(?:UPDATE|DELETE\s+FROM|INSERT\s+INTO)\s+"?(\w+)', re.IGNORECASE)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state):
    if state.is_update or state.is_delete:
        mapper = state.bind_mapper
        if mapper is not None and mapper.local_table is not None:
            _touched(state.session).add(mapper.local_table.name)
    elif isinstance(state.statement, TextClause):  # plain SQL through a session (operators' commands, tests)
        found = _WRITE.match(state.statement.text)
        if found:
            _touched(state.session).add(found.group(1).lower())


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_watching(session):
    # after a rollback too: an entry filled inside the transaction may hold what it wrote and then undid
    touched = session.info.pop("storecrm_touched", None)
    if not touched:
        return
    for cache in _caches:
        if cache.watch & touched:
            cache.clear()
