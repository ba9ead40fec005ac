"""Customers' own pages and online payment reach plugins through two hooks any plugin may implement:
`public_visitor` (the quote share page, the survey page, a plugin's member page ask it before rendering) and
`online_payment_url` (a page offering to pay online). Only plugins the tenant enabled answer; a POST is never
interrupted."""
import types

import pytest
from flask import redirect

from storecrm.hooks import hookimpl
from storecrm.hooks.info import PluginInfo


@pytest.fixture
def doorman(app):
    from storecrm.hooks.runtime import host

    module = types.ModuleType("doorman")
    module.PLUGIN = PluginInfo(name="doorman", label={"en": "Doorman"}, version="1", core=">=0")
    module.seen = []

    def public_visitor(customer):
        module.seen.append(customer.id)
        return redirect("https://sign-in.example/?who=%s" % customer.id)

    def online_payment_url(purpose, reference_id, customer, amount, return_url):
        return f"/pay/{purpose}/{reference_id}/{customer.id}/{amount}?back={return_url}"

    module.public_visitor = hookimpl(public_visitor)
    module.online_payment_url = hookimpl(online_payment_url)
    registered = host(app)
    registered.pm.register(module, name="doorman")
    registered.infos["doorman"] = module.PLUGIN
    try:
        yield module
    finally:
        registered.pm.unregister(name="doorman")
        registered.infos.pop("doorman")


def test_the_quote_page_asks_the_enabled_plugins_about_its_visitor(two_tenants, in_tenant, enable_plugin, doorman,
                                                                     app):
    from storecrm.sdk import AUTOMATION, create_sales_document, send_quote

    alpha, beta = two_tenants
    tokens = {}
    for world in (alpha, beta):
        with in_tenant(world):
            quote = create_sales_document(AUTOMATION, "quote", customer_id=world.customers[0],
                                          store_id=world.stores[0],
                                          lines=[{"description": "Install", "quantity": 1, "unit_price": "100.00"}])
            tokens[world.slug] = send_quote(AUTOMATION, quote).share_token
    enable_plugin(alpha, "doorman")
    client = app.test_client()
    resp = client.get(f"/t/alpha/q/{tokens['alpha']}")
    assert resp.status_code == 302 and resp.location == f"https://sign-in.example/?who={alpha.customers[0]}"
    assert client.get(f"/t/beta/q/{tokens['beta']}").status_code == 200       # beta has not enabled it
    assert doorman.seen == [alpha.customers[0]]


def test_online_payment_url_is_the_enabled_plugins_answer_or_none(two_tenants, in_tenant, enable_plugin, doorman):
    from storecrm.sdk import Customer, bind_public_visitor, get_scoped, online_payment_url

    alpha, beta = two_tenants
    enable_plugin(alpha, "doorman")
    with in_tenant(alpha):
        customer = get_scoped(Customer, alpha.customers[0])
        assert online_payment_url("retail.topup", 7, customer, return_url="/card") == \
            f"/pay/retail.topup/7/{customer.id}/None?back=/card"
        assert bind_public_visitor(None) is None
    with in_tenant(beta):
        assert online_payment_url("retail.topup", 7, get_scoped(Customer, beta.customers[0])) is None
