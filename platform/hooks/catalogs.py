"""Which gettext catalog answers a msgid, when the core and several plugins each bring one.

Flask-Babel merges every catalog into one, the last loaded winning, so one plugin's "Received" (已接车) would
replace the core's (已收货) on every page, and two plugins would fight over theirs. Instead a page reads its own
module's words: on a plugin's pages and in a plugin's blocks on core pages (panels, KPIs, widgets) that plugin's
catalog wins; everywhere else the core's wins, and the other plugins' catalogs only fill msgids the core lacks.
One merged catalog is kept per (locale, owner).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from babel import support
from flask import current_app, g, has_app_context, has_request_context, request
from flask_babel import Domain, get_babel, get_locale


def _owner() -> str | None:
    if not has_app_context():
        return None
    owner = g.get("catalog_owner")
    if owner is None and has_request_context() and request.blueprint:
        host = current_app.extensions.get("storecrm")
        owner = host.owners.get(request.blueprint.split(".", 1)[0]) if host is not None else None
    return owner


@contextmanager
def catalog_of(owner: str | None):
    """Inside this block, `owner`'s catalog wins (a plugin's block rendered on a core page)."""
    before = g.get("catalog_owner")
    g.catalog_owner = owner
    try:
        yield
    finally:
        g.catalog_owner = before


class OwnerFirstDomain(Domain):
    def get_translations(self):
        if not has_app_context():
            return support.NullTranslations()
        locale, owner = get_locale(), _owner()
        key = (str(locale), owner, id(current_app._get_current_object()))  # test suites build several apps
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        core, *plugin_dirs = get_babel().translation_directories
        host = current_app.extensions.get("storecrm")
        info = host.infos.get(owner) if (host is not None and owner) else None
        own = os.path.realpath(info.translations) if info is not None and info.translations else None
        order = [d for d in plugin_dirs if os.path.realpath(d) != own] + [core] + ([own] if own else [])
        translations = support.Translations()
        for dirname in order:
            catalog = support.Translations.load(dirname, [locale], self.domain[0])
            translations.merge(catalog)
            if hasattr(catalog, "plural"):
                translations.plural = catalog.plural
        self.cache[key] = translations
        return translations


def install(babel) -> None:
    """Make the app's message domain owner-aware (after `babel.init_app`)."""
    babel.__dict__["domain_instance"] = OwnerFirstDomain(domain="messages")
