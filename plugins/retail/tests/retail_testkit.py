"""Helpers shared by the retail plugin's tests."""
from decimal import Decimal

from storecrm.sdk import AUTOMATION

from storecrm.plugins.retail import members, purchases


def member(world, n=0, **over):
    data = {"name": over.pop("name", f"会员{n}"), "mobile": over.pop("mobile", f"1380013{n:04d}"),
            "store_id": world.stores[0], "consent": True, **over}
    return members.register(AUTOMATION, data, source="till")


def buy(world, m, amount="100.00", key=None, **over):
    data = {"member_no": m.member_no, "store_id": world.stores[0],
            "lines": [{"description": "纯棉T恤", "unit_price": str(amount), "quantity": 1}], **over}
    return purchases.record_purchase(AUTOMATION, data, request_key=key)


D = Decimal
