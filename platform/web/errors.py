"""Error pages for the UI and RFC 7807 problem documents under /api/."""
from __future__ import annotations

import logging

from flask import g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import db

log = logging.getLogger("storecrm.errors")

TITLES = {
    400: _l("Bad request"), 401: _l("Not signed in"), 403: _l("Forbidden"), 404: _l("Not found"),
    405: _l("Method not allowed"), 409: _l("Conflict"), 413: _l("Upload too large"), 422: _l("Invalid input"),
    429: _l("Too many requests"), 500: _l("Something went wrong"),
}


def title_for(status: int) -> str:
    return str(TITLES.get(status, _l("Error")))


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, detail: str | None = None, *, errors: dict | None = None, title: str | None = None,
            extra: dict | None = None):
    body = {
        "type": "about:blank",
        "title": title or title_for(status),
        "status": status,
        "instance": request.path,
        "request_id": g.get("request_id"),
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        if wants_problem_json():
            errors, extra = None, {}
            data = getattr(exc, "data", None)  # flask-smorest abort(...) / webargs validation errors
            if isinstance(data, dict) and "messages" in data:
                from .forms import flatten_errors

                errors = {}
                for location_errors in data["messages"].values():  # json, query, …
                    errors.update(flatten_errors(location_errors))
            if isinstance(data, dict):
                # extension members given to flask_smorest.abort (e.g. existing_customer_ids); webargs
                # also leaves its schema object here, which is not for the client
                extra = {k: v for k, v in data.items() if k not in ("messages", "message", "headers", "exc", "schema")
                         and isinstance(v, (str, int, float, bool, list, dict, type(None)))}
            detail = (data or {}).get("message") if isinstance(data, dict) else None
            if detail is None and isinstance(exc.description, str) and status != 422:
                detail = exc.description
            resp = problem(status, detail, errors=errors, extra=extra)
        else:
            template = {"suspended": "errors/suspended.html", "pending": "errors/pending.html"}.get(
                exc.description if isinstance(exc.description, str) else "", "errors/error.html")
            message = exc.description if getattr(exc, "read_only", False) else None
            resp = app.make_response((render_template(template, status=status, title=title_for(status),
                                                      message=message), status))
        if status == 405 and exc.get_response().headers.get("Allow"):
            resp.headers["Allow"] = exc.get_response().headers["Allow"]
        if status == 429 and getattr(exc, "retry_after", None):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        db.session.rollback()
        return _http_error(InternalServerError())
