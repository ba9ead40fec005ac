"""The demo tenant `smart-home` (`register_demo_tenants`): an installer with one service centre, three engineers
with vans and spare parts, a dozen households with their properties and devices, some finished and open work
orders, two maintenance contracts. Written through the services as staff would; small, so it loads in seconds."""
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from storecrm.sdk import (AUTOMATION, StockLocation, create_catalog_item, create_customer, create_staff_member,
                          create_stock_location, db, get_scoped, receive_stock, set_staff_profile,
                          set_stock_reorder_level, tenant_zone)

from . import services
from .models import Article

MODELS = [("LOCK-X1", "智能门锁 X1", "2999"), ("GW-G2", "智能网关 G2", "499"), ("SENSOR-D1", "门磁传感器 D1", "99"),
          ("CURTAIN-C3", "智能窗帘电机 C3", "899")]
PARTS = [("P-FP-MOD", "指纹识别模组", "180"), ("P-LOCK-BAT", "门锁电池组（4节5号）", "25"),
         ("P-CR2032", "CR2032 纽扣电池", "5"), ("P-GW-PSU", "网关电源适配器", "45")]
ENGINEERS = [("刘师傅", None, {"安装": 4, "门锁": 4, "网络": 3}, ["浦东新区"], "沪A·D1234"),
             ("赵工", "+8613916000011", {"安装": 3, "门锁": 3, "安防": 3}, ["徐汇区"], "沪B·E5678"),
             ("孙工", "+8613916000012", {"安装": 3, "网络": 4, "电工": 3}, ["闵行区"], "沪C·F9012")]
DISTRICTS = ["浦东新区", "徐汇区", "闵行区"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙"
STREETS = ["张杨路", "世纪大道", "漕溪北路", "虹梅路", "莘庄镇莘松路", "龙阳路"]
# where each engineer's day starts (near the district he covers): the first leg of travel time in dispatch
BASES = [(Decimal("31.221500"), Decimal("121.544000")), (Decimal("31.188000"), Decimal("121.437000")),
         (Decimal("31.112000"), Decimal("121.381000"))]
ROOMS = ["入户门", "客厅", "主卧", "书房"]


def load_demo(ctx):
    store, rng = ctx.stores[0], ctx.rng
    manager = ctx.users["manager"]
    models = [create_catalog_item(manager, {"kind": "product", "sku": sku, "name": name, "list_price": price})
              for sku, name, price in MODELS]
    parts = [create_catalog_item(manager, {"kind": "part", "sku": sku, "name": name, "list_price": price,
                                           "cost": str(Decimal(price) / 2)}) for sku, name, price in PARTS]
    engineers = []
    for n, (name, mobile, skills, regions, plate) in enumerate(ENGINEERS):
        user = ctx.users["technician"] if n == 0 else create_staff_member(
            None, name=name, role="technician", store_ids=[store.id], password="demo-pass-2026", mobile=mobile,
            email=f"eng{n + 1}@smart-home.demo.storecrm.cn")
        set_staff_profile(user, {"skills": skills, "regions": regions})
        van = services.give_van(None, user, store.id, f"{name}的备件车", plate)
        van.base_latitude, van.base_longitude = BASES[n]
        location = get_scoped(StockLocation, van.location_id)
        for part in parts:
            receive_stock(part, location, 10, unit_cost=part.cost, reason="期初备件")
            set_stock_reorder_level(part, location, 3)  # the van's minimum: below it a transfer request is raised
        engineers.append(user)
    warehouse = create_stock_location(manager, {"store_id": store.id, "kind": "warehouse", "name": "浦东中心仓"})
    for part in parts:
        receive_stock(part, warehouse, 50, unit_cost=part.cost, reason="期初备件")
    for article in db.session.scalars(select(Article)):
        if "lock" in article.fault_types:
            article.model_item_ids = [models[0].id]
        elif "sensor" in article.fault_types:
            article.model_item_ids = [models[2].id]
        elif "network" in article.fault_types:
            article.model_item_ids = [models[1].id]
    households = []
    for n in range(12):
        customer = create_customer(ctx.users["advisor"], {
            "name": f"{SURNAMES[n]}{'先生' if n % 2 else '女士'}", "mobile": f"1391700{n:04d}", "store_id": store.id})
        district = DISTRICTS[n % 3]
        prop = services.save_property(None, customer, {
            "label": "家", "address": f"{rng.choice(STREETS)}{rng.randint(10, 999)}弄{rng.randint(1, 30)}号{rng.randint(101, 2202)}室",
            "district": district, "kind": "villa" if n % 5 == 0 else "apartment",
            "area_sqm": Decimal(rng.randint(60, 260)), "rooms": rng.randint(2, 6),
            "latitude": Decimal("31.2") + Decimal(rng.randint(0, 9999)) / 100000,
            "longitude": Decimal("121.4") + Decimal(rng.randint(0, 9999)) / 100000})
        devices = []
        for k in range(rng.randint(1, 3)):
            model = models[(n + k) % len(models)]
            installed = ctx.today - timedelta(days=rng.randint(30, 600))
            devices.append(services.register_device(manager, customer, {
                "model_item_id": model.id, "serial": f"SN{n:02d}{k}{rng.randint(100000, 999999)}",
                "room": ROOMS[k % len(ROOMS)], "property_id": prop.id, "installed_on": installed,
                "warranty_until": installed + timedelta(days=730)}))
        households.append((customer, prop, devices, n % 3))
    zone = tenant_zone()
    faults = {"LOCK-X1": ("lock", parts[0]), "GW-G2": ("network", parts[3]), "SENSOR-D1": ("sensor", parts[2]),
              "CURTAIN-C3": ("mechanical", None)}
    for n, (customer, prop, devices, area) in enumerate(households[:9]):
        device = devices[0]
        model = next(m for m in models if m.id == device.attributes["model_item_id"])
        fault, part = faults[model.sku]
        day = ctx.today - timedelta(days=2 + n * 3)
        reported = datetime.combine(day, time(9 + n % 5, 10 * (n % 6)), tzinfo=zone)
        order = services.create_work_order(AUTOMATION, {
            "kind": "repair", "customer_id": customer.id, "property_id": prop.id, "asset_id": device.id,
            "fault_type": fault, "description": "设备报修（演示数据）", "due_on": None, "store_id": store.id},
            source="public" if n % 2 else "staff", now=reported, dispatch_now=False)
        engineer = engineers[area]
        services.assign(manager, order, engineer.id, now=reported + timedelta(minutes=5))
        if n >= 7:  # the last two stay open for the engineers' phones
            continue
        services.accept(engineer, order, now=reported + timedelta(minutes=20 + n * 4))
        services.check_in(engineer, order, {"latitude": prop.latitude, "longitude": prop.longitude},
                          now=reported + timedelta(minutes=70 + n * 5))
        if part is not None:
            services.use_part(engineer, order, {"item_id": part.id, "quantity": Decimal("1")},
                              now=reported + timedelta(minutes=80 + n * 5))
        services.complete(engineer, order, {
            "diagnosis": "故障已定位（演示数据）", "report": "更换部件并测试正常，已向客户演示使用。",
            "signed_name": customer.name, "fixed": n != 3,
            "signature": "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="},
            now=reported + timedelta(minutes=130 + n * 6))
        if n % 2 == 0:
            services.mark_visited(manager, order, "电话回访：客户满意", now=reported + timedelta(days=1))
    for customer, prop, devices, _area in households[9:11]:
        services.create_contract(manager, {
            "customer_id": customer.id, "starts_on": ctx.today.replace(day=1), "frequency": "quarterly",
            "ends_on": ctx.today.replace(day=1) + timedelta(days=364), "price": Decimal("1200.00"),
            "response_hours": 24, "property_ids": [prop.id], "asset_ids": [d.id for d in devices]})
    services.plan_contract_visits(ctx.today)
