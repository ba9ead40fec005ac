"""The `storecrm_plugins` mark of the test kit: the tenants a test builds have the named plugins switched on, as
their admin would have done it (default grants, first-time seeding)."""
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from storecrm.testing.fixtures import marked_plugins

pytestmark = pytest.mark.storecrm_plugins("carwash")


def _enabled(system_db) -> dict:
    with system_db.connect() as conn:
        return dict(conn.execute(text("SELECT t.slug, array_agg(p.name ORDER BY p.name) FROM tenant_plugins p "
                                      "JOIN tenants t ON t.id = p.tenant_id WHERE p.enabled GROUP BY t.slug")).all())


def test_the_module_mark_switches_the_plugin_on_for_both_tenants(two_tenants, login, system_db):
    assert _enabled(system_db) == {"alpha": ["carwash"], "beta": ["carwash"]}
    for world in two_tenants:
        advisor = login(world, "advisor")  # the plugin's default grants reached the built-in roles
        assert advisor.get(f"/t/{world.slug}/carwash/").status_code == 200
    with system_db.connect() as conn:  # plugin_enabled(first_time=True) seeded each tenant
        seeded = conn.execute(text("SELECT tenant_id, count(*) FROM carwash_types GROUP BY 1 ORDER BY 1")).all()
    assert [tuple(row) for row in seeded] == [(two_tenants[0].id, 2), (two_tenants[1].id, 2)]


def test_make_tenant_switches_on_the_marked_plugins_unless_told_otherwise(make_tenant, login, system_db):
    gamma = make_tenant("gamma")
    delta = make_tenant("delta", plugins=())
    assert _enabled(system_db) == {"gamma": ["carwash"]}
    assert login(gamma, "admin").get("/t/gamma/carwash/").status_code == 200
    assert login(delta, "admin").get("/t/delta/carwash/").status_code == 404


@pytest.mark.storecrm_plugins()
def test_the_closest_mark_wins(two_tenants, login, system_db):
    alpha, _ = two_tenants
    assert _enabled(system_db) == {}
    assert login(alpha, "admin").get("/t/alpha/carwash/").status_code == 404


def test_without_a_mark_no_plugin_is_switched_on(app):
    unmarked = SimpleNamespace(node=SimpleNamespace(get_closest_marker=lambda name: None))  # a test without one
    assert marked_plugins(unmarked, app) == ()


@pytest.mark.storecrm_plugins("carwash", "no_such_plugin")
def test_a_plugin_that_is_not_installed_fails_the_test_by_name(request, app):
    with pytest.raises(pytest.fail.Exception, match="no_such_plugin not installed .*carwash"):
        marked_plugins(request, app)
