"""Shared helpers of the smart-home tests: one tenant's installer set-up written through the services."""
from datetime import date
from decimal import Decimal

from storecrm.sdk import (Customer, StockLocation, User, create_catalog_item, create_staff_member, get_scoped,
                          receive_stock, set_staff_profile)

PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
       "RU5ErkJggg==")


def installer(world, in_tenant, *, suffix=""):
    """Two engineers with vans (the tenant's technician covers 浦东新区 with lock skills; a second one 徐汇区), a
    lock model and a fingerprint module (5 on each van), and the first customer's home in 浦东新区 with a lock."""
    from storecrm.plugins.smart_home import services

    with in_tenant(world):
        manager = get_scoped(User, world.users["manager"])
        lock = create_catalog_item(manager, {"kind": "product", "sku": f"LOCK-X1{suffix}", "name": "智能门锁 X1",
                                             "list_price": "2999"})
        module = create_catalog_item(manager, {"kind": "part", "sku": f"P-FP{suffix}", "name": "指纹识别模组",
                                               "list_price": "180", "cost": "90"})
        tech = get_scoped(User, world.users["technician"])
        other = create_staff_member(None, name="赵工", role="technician", store_ids=[world.stores[0]],
                                    password="another-pass-2026", email=f"zhao{suffix}@{world.slug}.test")
        set_staff_profile(tech, {"skills": {"门锁": 3, "安装": 3}, "regions": ["浦东新区"]})
        set_staff_profile(other, {"skills": {"门锁": 3, "安装": 3}, "regions": ["徐汇区"]})
        vans = {}
        for user in (tech, other):
            van = services.give_van(None, user, world.stores[0], f"{user.display_name}的车{suffix}")
            receive_stock(module, get_scoped(StockLocation, van.location_id), 5, unit_cost=Decimal("90"))
            vans[user.id] = van.location_id
        customer = get_scoped(Customer, world.customers[0])
        home = services.save_property(manager, customer, {"label": "家", "address": "张杨路100弄5号1201室",
                                                          "district": "浦东新区", "kind": "apartment",
                                                          "latitude": Decimal("31.230000"),
                                                          "longitude": Decimal("121.500000")})
        device = services.register_device(manager, customer, {"model_item_id": lock.id, "serial": f"SN{suffix}0001",
                                                              "room": "入户门", "property_id": home.id,
                                                              "installed_on": date(2026, 1, 10),
                                                              "warranty_until": date(2028, 1, 10)})
        return {"lock": lock.id, "module": module.id, "tech": tech.id, "other": other.id, "vans": vans,
                "home": home.id, "device": device.id, "customer": customer.id}
