"""Security headers on every response (DESIGN.md: security baseline)."""
from __future__ import annotations

from functools import wraps

from flask import g

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


# browser features a page may use, off (or same-origin only) unless a route opts in with `allow_browser_features`
DEFAULT_PERMISSIONS = {"camera": "(self)", "geolocation": "()", "microphone": "()"}


def allow_browser_features(*features: str):
    """Let one route's page use browser features the core's Permissions-Policy switches off (`"geolocation"`,
    `"microphone"`), for this origin only — never for embedded third parties. Every other page keeps them off.

        @bp.get("/engineer/<int:order_id>")
        @allow_browser_features("geolocation")
        def engineer_job(order_id): ...
    """
    unknown = set(features) - set(DEFAULT_PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown browser feature(s): {', '.join(sorted(unknown))}")

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            g.browser_features = set(getattr(g, "browser_features", ())) | set(features)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def permissions_policy(allowed=()) -> str:
    policy = dict(DEFAULT_PERMISSIONS)
    policy.update({feature: "(self)" for feature in allowed})
    return ", ".join(f"{name}={value}" for name, value in policy.items())


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values if isinstance(v, str))


def init_app(app) -> None:
    secure = app.config["SESSION_COOKIE_SECURE"]
    default_policy = permissions_policy()

    @app.before_request
    def _refuse_nul_bytes():
        """PostgreSQL cannot store NUL in text; refuse it up front as bad input, not a crash."""
        from flask import abort, request

        if "\x00" in request.path or (request.args and _has_nul(v for vs in request.args.listvalues() for v in vs)):
            abort(400)
        if request.content_length or request.headers.get("Transfer-Encoding"):  # a body to look at
            if _has_nul(v for vs in request.form.listvalues() for v in vs) or \
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
        features = g.get("browser_features")
        h.setdefault("Permissions-Policy", permissions_policy(features) if features else default_policy)
        if secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        return response
