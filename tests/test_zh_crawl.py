"""Every page, as every built-in role, in Simplified Chinese: no English of our catalog, no raw codes.

The crawl walks the URL map (every GET route that renders HTML), fills path ids from the two-tenant world of the
cross-tenant matrix (tenant alpha's own ids this time), and reads each page's visible text (text nodes plus the
title / placeholder / aria-label attributes a user sees). A page fails when

- a text node is exactly an English message of our catalog whose Chinese differs (an untranslated string), or
  holds a longer catalog message (a sentence left in English);
- a text node is a bare code (a lowercase identifier such as ``lead``, ``open``, ``in_progress``, ``system``) or a
  Python repr (``True``, ``False``, ``None``, ``{'a': 1}``) — values must reach the user through a label.

Brand names, units and the world's own data (slugs, e-mails, plates) are allowed below. Routes that need a value
the world cannot give are listed in SKIPPED with the reason, and a GET route neither filled nor skipped fails.
"""
from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text

from tests.test_cross_tenant import (ID_ROUTES, LIST_ROUTES, _drop_world_snapshot, _url,  # noqa: F401  (fixtures)
                                     builtin_vertical_endpoints, world)

ROLES = ("owner", "admin", "manager", "advisor", "technician")
CATALOG = Path(__file__).resolve().parent.parent / "frontend" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / \
    "messages.po"

# GET routes that the crawl does not open, and why
SKIPPED = {
    "static": "vendored files",
    "auth.reset": "needs a signed reset token (test_auth renders it)",
    "signup.verify": "needs a signed signup link (test_signup_plans renders it)",
    "billing.download_export": "a file download, not a page",
    "ops.download": "operator console file download",
    "files.download": "a file, not a page",
    "files.thumbnail": "a file, not a page",
    "imports.export_customers": "a spreadsheet, not a page",
    "imports.errors_report": "a spreadsheet, not a page",
    "catalog.export": "a spreadsheet, not a page",
    "reports.export": "a spreadsheet, not a page",
    "booking.page": "a public page behind a signed store link (test_scheduling_browser renders it in zh_CN)",
    "booking.manage": "a public page behind a signed booking link (test_scheduling_web renders it)",
    "lead_public.form": "a public page behind a signed channel link (test_leads_browser renders it in zh_CN)",
    "lead_public.thanks": "a public page behind a signed channel link (test_leads_web renders it)",
    "survey_page.answer": "a public page behind a survey token (test_surveys renders it)",
    "reports.kpi": "needs a KPI code; test_reports renders every core KPI's page",
}
# Found by this crawl right after the commerce, scheduling, leads and reports modules were merged, and not fixed in
# that session: listed here so every other page stays held to the rule (the session note names them). Remove an entry
# when it is fixed; nothing new may be added without saying so in a note.
KNOWN_GAPS = {
    # stored text, not a page's words: the world's notifications were written for users who read English then (the
    # crawl switches them to zh_CN afterwards); a notification is kept in the language its reader had when it was sent
    ("/notifications/", "English: 'New'"),
}
# path values the crawl fills that the cross-tenant matrix does not name
EXTRA_PARAMS = {
    "plugins.settings": lambda w: {"name": "carwash"},
    "templates.edit": lambda w: {"code": "task_assigned"},
    "workflow.copy": lambda w: {"code": "lead"},
    "rules.copy": lambda w: {"code": "birthday"},
}

# words that are not codes even though they look like one: brand names, units, protocol words
ALLOWED_WORDS = {
    "storecrm", "stripe", "email", "e-mail", "api", "url", "csv", "xlsx", "json", "sms", "vin", "km", "h", "min",
    "https", "http", "webhook", "htmx", "id", "ok", "cny", "hmac", "sha256", "utc", "gmt", "png", "jpg",
    "mingdi",  # the example workspace name in the signup form's placeholder
    "tests",  # the name the world's API token was given
}
CODE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
REPR_RE = re.compile(r"(?<![\w-])(True|False|None)(?![\w-])|\{'[^']*':|\[\{'")
SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "template"}
SHOWN_ATTRS = ("title", "placeholder", "aria-label", "alt")


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.depth += 1
        attrs = dict(attrs)
        if attrs.get("data-crawl") == "raw":  # an identifier the page shows on purpose (a code users type)
            self.depth += 1
            self._raw_tag = tag
        for name in SHOWN_ATTRS:
            if attrs.get(name) and not self.depth:
                self.texts.append(attrs[name].strip())

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self.depth:
            self.depth -= 1
        elif getattr(self, "_raw_tag", None) == tag and self.depth:
            self.depth -= 1
            self._raw_tag = None

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.texts.append(" ".join(data.split()))


def english_messages() -> tuple[set[str], list[str]]:
    """(exact, long): catalog msgids whose Chinese differs, as whole texts and as sentences to find inside texts."""
    with open(CATALOG, "rb") as fh:
        catalog = read_po(fh)
    exact, long = set(), []
    for message in catalog:
        if not message.id or message.pluralizable:
            continue
        english, chinese = message.id, message.string
        if not chinese or chinese == english or not re.search(r"[A-Za-z]{3}", english):
            continue
        literal = re.split(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}", english)
        if len(literal) == 1:
            exact.add(english.strip())
        piece = max(literal, key=len).strip()
        if len(piece) >= 24 and " " in piece:
            long.append(piece)
    return exact, long


def get_routes(app):
    """Every GET page of the core. The built-in verticals' pages are left to their own suites (plugins/<name>/tests),
    which render them in zh_CN with the vertical on; here the crawl's tenant has none of them on."""
    seen = {}
    verticals = builtin_vertical_endpoints(app)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.startswith(("api_", "api-docs", "ops.", "public.", "stripe")):
            continue
        if rule.endpoint in verticals:
            continue
        seen.setdefault(rule.endpoint, rule)
    return seen


def params_for(endpoint, rule, alpha):
    needed = set(rule.arguments) - {"tenant"}
    if not needed:
        return dict(LIST_ROUTES.get(endpoint, {}))
    if endpoint in EXTRA_PARAMS:
        return EXTRA_PARAMS[endpoint](alpha)
    for method, params, _body in ID_ROUTES.get(endpoint, []):
        if method == "GET":
            return params(alpha)
    return None


def allowed_words(alpha) -> set[str]:
    return ALLOWED_WORDS | {alpha.slug, "beta"}


def problems_in(texts, exact, long, allowed):
    found = []
    for t in texts:
        if t in exact:
            found.append(f"English: {t!r}")
            continue
        if CODE_RE.match(t) and t not in allowed:
            found.append(f"raw code: {t!r}")
            continue
        if REPR_RE.search(t):
            found.append(f"Python value: {t!r}")
            continue
        for sentence in long:
            if sentence in t:
                found.append(f"English: {sentence!r} in {t!r}")
                break
    return found


def chinese_of() -> dict[str, str]:
    with open(CATALOG, "rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id and not m.pluralizable and m.string}


@pytest.fixture
def zh_world(world, system_db, in_tenant):
    """Tenant alpha of the cross-tenant world as a zh_CN chain has it: its people read Chinese, the workflows it
    copied from templates carry the Chinese labels a copy made in a zh_CN request gets (the world was built outside
    any request, in English), and its import file has Chinese headers."""
    alpha, beta, alpha_headers, beta_headers = world
    zh = chinese_of()
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET locale = 'zh_CN' WHERE id = :t"), {"t": alpha.id})
        conn.execute(text("UPDATE users SET locale = 'zh_CN' WHERE tenant_id = :t"), {"t": alpha.id})
        conn.execute(text("UPDATE import_runs SET headers = CAST(:h AS jsonb) WHERE tenant_id = :t"),
                     {"t": alpha.id, "h": json.dumps(["姓名"])})
        for row in conn.execute(text("SELECT id, name, spec FROM workflow_definitions WHERE tenant_id = :t"),
                                {"t": alpha.id}).all():
            spec = row.spec
            for part in ("states", "transitions"):
                for step in spec.get(part, []):
                    step["label"] = zh.get(step.get("label"), step.get("label"))
            conn.execute(text("UPDATE workflow_definitions SET name = :n, spec = CAST(:s AS jsonb) WHERE tenant_id = :t AND id = :i"),
                         {"n": zh.get(row.name, row.name), "s": json.dumps(spec, ensure_ascii=False), "t": alpha.id,
                          "i": row.id})
    with in_tenant(alpha) as session:  # changes the audit log must put in words
        from datetime import date

        from storecrm.customers.models import Customer
        from storecrm.customers.services import update_customer
        from storecrm.users.models import User

        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        update_customer(owner, session.get(Customer, (alpha.id, alpha.customers[1])),
                        {"birthday": date(1985, 3, 12), "gender": "F", "store_id": alpha.stores[0],
                         "custom": {"budget": "12800"}, "tags": ["VIP", "老客户"]})
    return alpha


def test_every_get_route_is_crawled_or_skipped_with_a_reason(app):
    class Dummy:
        stores = [1, 2]
        users = {r: 1 for r in ROLES}
        roles = {r: 1 for r in ROLES}
        customers = [1, 2, 3]
        slug = "alpha"

        def __getattr__(self, name):
            return 1

    unfilled = [e for e, rule in get_routes(app).items()
                if e not in SKIPPED and params_for(e, rule, Dummy()) is None]
    assert not unfilled, f"GET routes the crawl can neither fill nor says why it skips: {sorted(unfilled)}"


def test_every_page_as_every_role_in_chinese_has_no_english_and_no_raw_codes(zh_world, app, login):
    alpha = zh_world
    exact, long = english_messages()
    allowed = allowed_words(alpha)
    routes = get_routes(app)
    report, opened = [], 0
    for role in ROLES:
        browser = login(alpha, role)
        for endpoint, rule in sorted(routes.items()):
            if endpoint in SKIPPED:
                continue
            params = params_for(endpoint, rule, alpha)
            url = _url(app, endpoint, alpha.slug, params if "tenant" in rule.arguments or not params else params)
            resp = browser.client.get(url)
            assert resp.status_code < 500, (role, url, resp.status_code)
            if resp.status_code != 200 or resp.mimetype != "text/html":
                continue
            opened += 1
            parser = VisibleText()
            parser.feed(resp.get_data(as_text=True))
            found = [p for p in problems_in(parser.texts, exact, long, allowed)
                     if (url.removeprefix("/t/alpha"), p) not in KNOWN_GAPS]
            for problem in found:
                report.append(f"{role:<10} {url}: {problem}")
            if found and os.environ.get("STORECRM_CRAWL_DUMP"):  # to look at a failing page
                Path(os.environ["STORECRM_CRAWL_DUMP"], endpoint + ".html").write_bytes(resp.get_data())
    assert opened > 100, opened  # the crawl really opened pages
    unique = sorted(set(report))
    assert not unique, f"{len(unique)} problems:\n" + "\n".join(unique)
