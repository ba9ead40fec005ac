"""A msgid two catalogs translate differently reads as its own module means it: "Received" is the stock's 已收货 on
the core's pages, the dealership's 已接车 on its pages and in its blocks, the retail complaint's 已受理 on retail's."""
from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext


def _page_of(app, prefix: str) -> str:
    rule = next(r for r in app.url_map.iter_rules()
                if r.endpoint.startswith(prefix) and set(r.arguments) <= {"tenant"} and "GET" in r.methods)
    return rule.rule.replace("<tenant>", "alpha")


@pytest.mark.parametrize("prefix, expected", [("stock.", "已收货"), ("dealership.", "已接车"), ("retail.", "已受理")])
def test_each_page_reads_its_own_modules_words(app, prefix, expected):
    with app.test_request_context(_page_of(app, prefix)), force_locale("zh_CN"):
        assert gettext("Received") == expected


def test_a_plugins_block_on_a_core_page_reads_the_plugins_words(app):
    from storecrm.hooks.catalogs import catalog_of

    with app.test_request_context(_page_of(app, "customers.")), force_locale("zh_CN"):
        assert gettext("Received") == "已收货"
        with catalog_of("dealership"):
            assert gettext("Received") == "已接车"
        assert gettext("Received") == "已收货"
        assert gettext("Repair orders") != "Repair orders"  # the plugins' own msgids still read in Chinese
