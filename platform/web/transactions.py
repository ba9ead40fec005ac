"""One transaction per request: commit when the response succeeded, roll back otherwise.

Code that must write something about the response in the same transaction (e.g. the stored
response of an idempotent API call) appends a callable to `g.before_commit`.
"""
from __future__ import annotations

from flask import g

from ..extensions import db


def init_app(app) -> None:
    @app.after_request
    def _finish_transaction(response):
        if response.status_code < 400:
            for callback in g.pop("before_commit", []):
                callback(response)
            db.session.commit()
        else:
            db.session.rollback()
        return response
