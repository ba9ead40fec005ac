"""Locale and time zone selection, and translated validation messages.

Locale: the user's choice, else the language picked in this browser session, else the
tenant's default, else the browser's Accept-Language, else zh_CN.
"""
from __future__ import annotations

import functools

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


# the zones chains in our markets use, offered first in every time-zone select
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Macau", "Asia/Singapore", "Asia/Tokyo",
                "Asia/Seoul", "Asia/Kuala_Lumpur", "Asia/Bangkok", "Asia/Jakarta", "Asia/Manila", "Asia/Dubai",
                "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
                "Australia/Sydney", "UTC")
# legacy aliases and system entries of the tz database that no one picks from a list
_NOT_LISTED = ("Etc/", "posix/", "right/", "SystemV/", "US/", "Brazil/", "Canada/", "Chile/", "Mexico/")


def zone_name(zone: str, locale: str | None = None) -> str:
    """A time zone as people read it, in the user's language: "中国（上海）时间 · UTC+08:00"."""
    return _zone_name(zone, locale or str(_babel_locale()))


def _babel_locale():
    from flask_babel import get_locale

    return get_locale() or "zh_CN"


def _offset_minutes(zone: str) -> int:
    from datetime import datetime, timezone as dt_timezone
    from zoneinfo import ZoneInfo

    return int(datetime.now(dt_timezone.utc).astimezone(ZoneInfo(zone)).utcoffset().total_seconds() // 60)


def _utc_offset(zone: str) -> str:
    minutes = _offset_minutes(zone)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@functools.lru_cache(maxsize=4096)
def _zone_name(zone: str, locale: str) -> str:
    from babel.dates import get_timezone_location

    if zone == "UTC":
        return "UTC"
    try:
        return f"{get_timezone_location(zone, locale=locale)} · {_utc_offset(zone)}"
    except (LookupError, ValueError):
        return zone


def zone_options(zones, locale: str | None = None) -> list[tuple[str, str, bool]]:
    """(zone, name, common) for a time-zone select: the common zones first, then the rest by offset and name."""
    return _zone_options(tuple(sorted(zones)), locale or str(_babel_locale()))


@functools.lru_cache(maxsize=8)
def _zone_options(zones: tuple, locale: str) -> list[tuple[str, str, bool]]:
    listed = [z for z in zones if "/" in z and not z.startswith(_NOT_LISTED)]
    common = [(z, _zone_name(z, locale), True) for z in COMMON_ZONES if z in zones]
    rest = sorted((z for z in listed if z not in COMMON_ZONES), key=lambda z: (_offset_minutes(z), _zone_name(z, locale)))
    return common + [(z, _zone_name(z, locale), False) for z in rest]
