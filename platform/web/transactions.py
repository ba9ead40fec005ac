"""One transaction per request: commit when the response succeeded, roll back otherwise.

"Succeeded" means a status below 400 *and* no `refuse()` during the request: a form that refuses its input and
redirects back with the reasons (302/303) must not keep what the handler wrote before it found the problem.

Code that must write something about the response in the same transaction (e.g. the stored
response of an idempotent API call) appends a callable to `g.before_commit`.
"""
from __future__ import annotations

from flask import g

from ..extensions import db


def refuse() -> None:
    """Mark the current request as refused: everything it wrote is rolled back, whatever its status code."""
    g.storecrm_refused = True


def init_app(app) -> None:
    @app.after_request
    def _finish_transaction(response):
        if response.status_code < 400 and not g.pop("storecrm_refused", False):
            for callback in g.pop("before_commit", []):
                callback(response)
            db.session.commit()
        else:
            db.session.rollback()
        return response
