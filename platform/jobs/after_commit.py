"""Run callbacks once the current transaction has committed (and never if it rolls back)."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

_KEY = "storecrm_after_commit"


def after_commit(callback) -> None:
    """Run `callback()` once the current transaction commits (never if it rolls back): for side effects outside the database."""
    db.session().info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run(session):
    for callback in session.info.pop(_KEY, []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop(session):
    session.info.pop(_KEY, None)
