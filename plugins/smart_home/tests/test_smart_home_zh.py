"""Every page of the plugin in Simplified Chinese, as staff, an engineer and a visitor: no English of the plugin's
catalog left untranslated, no raw code (a state, a kind, a fault type) where a label belongs. (The core's crawl in
tests/test_zh_crawl.py leaves the built-in verticals' pages to their own suites.)"""
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from smart_home_testkit import PNG, installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")
CATALOG = Path(__file__).resolve().parent.parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


class Visible(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label") and value:
                self.texts.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def test_every_page_reads_in_chinese(app, make_tenant, in_tenant, login, browser):
    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import ARTICLE_KINDS, FAULT_TYPES, ORDER_KINDS, STATES, Article

    english = {m.id for m in read_po(CATALOG.open("rb")) if m.id and m.string and m.string != m.id
               and not re.search(r"%\(", m.id)}
    codes = set(STATES) | set(ORDER_KINDS) | set(FAULT_TYPES) | set(ARTICLE_KINDS) | {"True", "False", "None"}
    alpha = make_tenant("alpha", locale="zh_CN")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha) as session:
        tech = get_scoped(User, ids["tech"])
        done = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                 "asset_id": ids["device"], "fault_type": "lock",
                                                 "description": "指纹失灵"})
        services.accept(tech, done)
        services.check_in(tech, done, {"latitude": Decimal("31.23"), "longitude": Decimal("121.5")})
        services.use_part(tech, done, {"item_id": ids["module"], "quantity": 1})
        services.complete(tech, done, {"diagnosis": "模组坏", "report": "已更换", "signed_name": "王", "signature": PNG})
        open_order = services.create_work_order(None, {"kind": "install", "customer_id": ids["customer"],
                                                       "property_id": ids["home"]})
        contract = services.create_contract(None, {"customer_id": ids["customer"], "starts_on": date(2026, 12, 1),
                                                   "ends_on": date(2027, 11, 30), "frequency": "quarterly",
                                                   "price": Decimal("1200")})
        services.plan_contract_visits(date(2026, 12, 1))
        article = session.query(Article).first().id
        token = done.tracking_token
        orders = (done.id, open_order.id)
    pages = ["/smart-home/", "/smart-home/?state=done", f"/smart-home/orders/new?customer_id={ids['customer']}",
             "/smart-home/engineer/", "/smart-home/contracts/", f"/smart-home/contracts/{contract.id}",
             f"/smart-home/contracts/new?customer_id={ids['customer']}", "/smart-home/kb/", "/smart-home/kb/?q=门锁",
             "/smart-home/kb/new", f"/smart-home/kb/{article}", f"/smart-home/kb/{article}/edit",
             f"/smart-home/customers/{ids['customer']}/properties/new",
             f"/smart-home/customers/{ids['customer']}/devices/new", f"/customers/{ids['customer']}",
             f"/assets/{ids['device']}", "/reports/kpis/smart_home.failure_rate",
             "/reports/kpis/smart_home.repairs_by_fault", "/reports/kpis/smart_home.tickets", "/smart-home/worksheets"]
    pages += [f"/smart-home/orders/{o}" for o in orders] + [f"/smart-home/engineer/{o}" for o in orders]
    problems, opened = [], 0
    for role in ("manager", "technician"):
        client = login(alpha, role)
        for page in pages:
            resp = client.get(f"/t/alpha{page}")
            assert resp.status_code in (200, 403), (role, page, resp.status_code)
            if resp.status_code == 200:
                opened += 1
                problems += _problems(role, page, resp.get_data(as_text=True), english, codes)
    visitor = browser()
    for page in ("/smart-home/public/request", f"/smart-home/public/track/{token}"):
        resp = visitor.get(f"/t/alpha{page}")
        assert resp.status_code == 200
        problems += _problems("visitor", page, resp.get_data(as_text=True), english, codes)
    assert opened > 25
    assert not problems, "\n".join(sorted(set(problems)))


def _problems(role, page, html, english, codes):
    parser = Visible()
    parser.feed(html)
    found = []
    for text_ in parser.texts:
        if text_ in english:
            found.append(f"{role} {page}: English {text_!r}")
        if text_ in codes:
            found.append(f"{role} {page}: raw code {text_!r}")
    return found
