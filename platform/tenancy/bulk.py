"""Set-based writes: many rows into one table in one statement whose rows travel as one JSON parameter.

An import writes hundreds of customers, identities and audit entries a batch. As an executemany (SQLAlchemy's
multi-row VALUES) each row costs ~0.09 ms outside PostgreSQL's own work: every value processed and quoted by the
driver, a statement of thousands of literals parsed and planned. As one JSON document unpacked by
`jsonb_populate_recordset` over the table's own row type, the driver sends one string that `json` wrote in C and
PostgreSQL parses it once (B7 in bench/README.md). COPY would be cheaper still on the wire, but COPY FROM is refused on
a table under row-level security, and staging through a temporary table leaves an object on a connection that
pgbouncer hands to the next tenant; this statement is an ordinary INSERT, checked by RLS like any other."""
from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Table, text

from ..extensions import db


def _plain(value):
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()  # with its offset: timestamptz reads it as the same instant
    if isinstance(value, (Decimal, UUID)):
        return str(value)  # numeric reads the text exactly; a float would round
    raise TypeError(f"{type(value).__name__} is not a column value")


def insert_rows(table: Table, rows: list[dict]) -> None:
    """INSERT `rows` (dicts with the same keys, column names of `table`) into `table` in one statement.

    Columns a row does not name get their defaults (an identity `id` included); a JSON null is SQL NULL. Values are
    what the columns hold: str, int, bool, Decimal, date, datetime (aware), lists for ARRAY columns and dicts or
    lists for JSONB ones. Row-level security and the table's constraints apply as to any INSERT; a violation raises
    IntegrityError for the whole statement."""
    if not rows:
        return
    columns = list(rows[0])
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {unknown[0]}")
    names = ", ".join(f'"{name}"' for name in columns)
    db.session.execute(
        text(f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
             f'FROM jsonb_populate_recordset(NULL::"{table.name}", CAST(:rows AS jsonb))'),
        {"rows": json.dumps(rows, default=_plain, ensure_ascii=False, separators=(",", ":"))})
