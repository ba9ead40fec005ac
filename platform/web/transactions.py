"""One transaction per request: commit when the response succeeded, roll back otherwise."""
from __future__ import annotations

from ..extensions import db


def init_app(app) -> None:
    @app.after_request
    def _finish_transaction(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response
