"""The `customer_address` hook: a plugin names a customer's address on its channel (the WeChat Official Account
plugin: the openid bound to them), and the core's booking messages go there as well as by SMS."""
import pytest

from storecrm.hooks.runtime import tenant_hook

pytestmark = pytest.mark.storecrm_plugins("wechat_oa")
OPENID = "oHookTest_openid_000001"


def test_customer_address_answers_the_bound_openid_only_for_wechat_and_only_when_set_up(make_tenant, in_tenant,
                                                                                       login):
    from storecrm.sdk import Customer, add_identity, get_scoped

    alpha = make_tenant("alpha")
    with in_tenant(alpha):
        customer = get_scoped(Customer, alpha.customers[0])
        add_identity(customer, "wechat_openid", OPENID)
        assert tenant_hook("customer_address")(customer=customer, channel="wechat") is None   # not set up yet
    admin = login(alpha, "admin")
    assert admin.post("/t/alpha/modules/wechat_oa/settings", {"app_id": "wx1234567890abcdef",
                                                             "app_secret": "secret-0001"}).status_code == 302
    with in_tenant(alpha):
        customer = get_scoped(Customer, alpha.customers[0])
        assert tenant_hook("customer_address")(customer=customer, channel="wechat") == OPENID
        assert tenant_hook("customer_address")(customer=customer, channel="sms") is None
        other = get_scoped(Customer, alpha.customers[1])
        assert tenant_hook("customer_address")(customer=other, channel="wechat") is None
