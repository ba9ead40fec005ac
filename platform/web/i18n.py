"""Locale and time zone selection, and translated validation messages.

Locale: the user's choice, else the language picked in this browser session, else the
tenant's default, else the browser's Accept-Language, else zh_CN.
"""
from __future__ import annotations

from flask import g, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LOCALES = ("zh_CN", "en")
LOCALE_NAMES = {"zh_CN": "简体中文", "en": "English"}


def select_locale() -> str:
    if not has_request_context():
        return "en"  # CLI and jobs: operators read English; user-facing text forces a locale
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and getattr(user, "locale", None) in LOCALES:
        return user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    api_user = g.get("api_user")
    if api_user is not None and api_user.locale in LOCALES:
        return api_user.locale
    tenant = g.get("tenant")
    if request.accept_languages and not tenant:
        best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
        if best:
            return "zh_CN" if best.startswith("zh") else "en"
    if tenant is not None and tenant.locale in LOCALES:
        return tenant.locale
    return "zh_CN"


def current_code() -> str:
    """The request's language as the app spells it (Babel says zh_Hans_CN, hence the catalog folder)."""
    from flask_babel import get_locale

    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def tenant_zone():
    """The tenant's time zone as a zoneinfo object (Babel hands out pytz zones, which need localize())."""
    from zoneinfo import ZoneInfo

    from flask_babel import get_timezone

    return ZoneInfo(str(get_timezone()))


def select_timezone() -> str:
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else "Asia/Shanghai"


# marshmallow's built-in messages, listed so that extraction puts them in the catalog;
# web.forms.flatten_errors translates them by their English text.
MARSHMALLOW_MESSAGES = [
    _l("Missing data for required field."), _l("Field may not be null."), _l("Invalid value."),
    _l("Not a valid string."), _l("Not a valid integer."), _l("Not a valid email address."),
    _l("Not a valid date."), _l("Not a valid time."), _l("Not a valid datetime."), _l("Not a valid boolean."),
    _l("Not a valid list."), _l("Unknown field."), _l("Invalid input type."), _l("Invalid type."),
]


def init_app(app, babel) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def _locale_ctx():
        return {"current_locale": current_code(), "locale_names": LOCALE_NAMES}
