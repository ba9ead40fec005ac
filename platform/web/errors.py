"""Error pages for the UI and RFC 7807 problem documents under /api/."""
from __future__ import annotations

import logging
import time

import psycopg2
from flask import g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from ..extensions import db, limiter
from .forms import flatten_errors

log = logging.getLogger("storecrm.errors")

# With the database unreachable (down, restarting, failing over, out of connections) a request cannot be served, but
# it is not the request's fault nor a bug: 503 with Retry-After tells clients and load balancers to come back.
DATABASE_RETRY_AFTER = 30

TITLES = {
    400: _l("Bad request"), 401: _l("Not signed in"), 403: _l("Forbidden"), 404: _l("Not found"),
    405: _l("Method not allowed"), 409: _l("Conflict"), 413: _l("Upload too large"), 422: _l("Invalid input"),
    429: _l("Too many requests"), 500: _l("Something went wrong"), 503: _l("Service unavailable"),
}


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` means the database cannot be reached (rather than a bug in the query)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                        psycopg2.OperationalError, psycopg2.InterfaceError)):
        return True  # TimeoutError: no connection free in the pool
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def retry_after_seconds(exc: HTTPException) -> int | None:
    """Seconds until a refused request may be tried again: the breached rate limit's window, or what `exc` says."""
    if getattr(exc, "retry_after", None):
        return int(exc.retry_after)
    if isinstance(exc, RateLimitExceeded) and limiter.current_limit is not None:
        try:
            return max(1, int(limiter.current_limit.reset_at - time.time()))
        except Exception:  # the limiter's Redis went away between the check and now: a whole window is safe
            log.warning("rate limit window unknown; answering Retry-After of one window", exc_info=True)
            return int(exc.limit.limit.get_expiry())
    return None


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
        if isinstance(exc, InternalServerError) and database_unavailable(exc.original_exception):
            return _database_down(exc.original_exception)  # raised past the views, e.g. by the commit
        db.session.rollback()
        status = exc.code or 500
        if wants_problem_json():
            errors, extra = None, {}
            data = getattr(exc, "data", None)  # flask-smorest abort(...) / webargs validation errors
            if isinstance(data, dict) and "messages" in data:
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
        if status in (429, 503) and (retry_after := retry_after_seconds(exc)):
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    def _database_down(exc: BaseException):
        log.error("database unavailable, answering 503: %s", exc)
        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the session is reset either way
            db.session.close()
        try:
            return _http_error(ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER))
        except Exception:  # the page itself reached for the database (the signed-in user): answer it bare
            try:
                db.session.close()  # the failed transaction must not be reached for again by the answer below
            except Exception:  # the connection is already gone: nothing to close
                log.debug("session close after a lost connection failed", exc_info=True)
            # no translation lookup here: choosing the locale reads the signed-in user, i.e. the database
            resp = app.response_class("Service unavailable / 服务暂时不可用", status=503,
                                      mimetype="text/plain")
            resp.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
            return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_unavailable(exc):
            return _database_down(exc)
        log.exception("unhandled error")
        db.session.rollback()
        return _http_error(InternalServerError())
