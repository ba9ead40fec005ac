"""Keyset pagination over any sort column: the cursor is the id of the previous page's last row, whose sort key
is read back, so a page is one indexed range scan however deep it is (OFFSET would read every earlier row)."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from .extensions import db


def page(query, model, column, descending: bool, after_id: int | None):
    """`query` ordered by (column, id) with NULLs last, starting after the row `after_id`."""
    ident = model.id
    if after_id:
        if column is ident:
            query = query.where(ident < after_id if descending else ident > after_id)
        else:
            last = db.session.execute(select(column).where(ident == after_id)).first()
            if last is not None:
                query = query.where(_after(ident, column, last[0], after_id, descending))
    if column is ident:
        return query.order_by(ident.desc() if descending else ident.asc())
    return query.order_by(column.desc().nulls_last() if descending else column.asc().nulls_last(),
                          ident.desc() if descending else ident.asc())


def _after(ident, column, value, last_id: int, descending: bool):
    if value is None:  # already among the NULLs: only later ids
        return and_(column.is_(None), ident < last_id if descending else ident > last_id)
    if descending:
        return or_(column < value, and_(column == value, ident < last_id), column.is_(None))
    return or_(column > value, and_(column == value, ident > last_id), column.is_(None))
