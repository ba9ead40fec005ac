"""Security headers on every response (DESIGN.md: security baseline)."""
from __future__ import annotations

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values if isinstance(v, str))


def init_app(app) -> None:
    secure = app.config["SESSION_COOKIE_SECURE"]

    @app.before_request
    def _refuse_nul_bytes():
        """PostgreSQL cannot store NUL in text; refuse it up front as bad input, not a crash."""
        from flask import abort, request

        if _has_nul(v for vs in request.args.listvalues() for v in vs) or \
                _has_nul(v for vs in request.form.listvalues() for v in vs) or "\x00" in request.path or \
                (request.is_json and "\\u0000" in request.get_data(as_text=True)):
            abort(400)

    @app.after_request
    def _headers(response):
        h = response.headers
        if getattr(response, "embeddable", False):  # a public page made to sit in other sites' iframes (lead forms)
            h.setdefault("Content-Security-Policy", CSP.replace("frame-ancestors 'none'", "frame-ancestors *"))
        else:
            h.setdefault("Content-Security-Policy", CSP)
            h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        if secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        return response
