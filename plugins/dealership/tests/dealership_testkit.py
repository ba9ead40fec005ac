"""Helpers shared by the dealership's tests: a workshop (opening hours, a skilled technician on shift), vehicles,
and repair orders driven through the services from reception to delivery at controlled times."""
from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from storecrm.sdk import (Appointment, Customer, ServiceType, Store, User, add_working_pattern, book_appointment,
                          create_asset, create_catalog_item, db, get_scoped, receive_stock, set_staff_skills,
                          stock_location_for_store)

VIN = "LSVAU2182N2183290"  # a valid check digit


def user(world, role):
    return get_scoped(User, world.users[role])


def workshop(world):
    """Inside the tenant: store 1 open 00:00–23:59 every day, the technician skilled and on shift all week."""
    store = get_scoped(Store, world.stores[0])
    store.opens_at, store.closes_at = time(0, 0), time(23, 59)
    tech = user(world, "technician")
    set_staff_skills(tech, {"保养": 3, "机修": 3, "检测": 2})
    for weekday in range(7):
        add_working_pattern(None, {"user_id": tech.id, "store_id": store.id, "weekday": weekday,
                                   "starts_at": time(0, 0), "ends_at": time(23, 59)})
    db.session.flush()
    return store


def vehicle(world, customer_index=0, plate="沪A12345", vin=None, **extra):
    customer = get_scoped(Customer, world.customers[customer_index])
    identifiers = {"plate": plate}
    if vin:
        identifiers["vin"] = vin
    return create_asset(user(world, "owner"), customer, {"type": "vehicle", "name": "大众 帕萨特", "identifiers":
                                                          identifiers, "attributes": {"brand": "大众"}, **extra})


def part(world, sku="OIL-5W30", price="380.00", stock=20):
    item = create_catalog_item(user(world, "owner"), {"kind": "part", "sku": sku, "name": "机油 5W-30 4L",
                                                      "list_price": price, "cost": "200"})
    store = get_scoped(Store, world.stores[0])
    receive_stock(item, stock_location_for_store(store), stock, unit_cost="200")
    return item


def service_type_id(code):
    from storecrm.plugins.dealership.services import service_kind

    return service_kind(code).service_type_id


def book(world, car, code, starts_at, *, now):
    """A staff booking of the dealer service `code` for the car's owner at `starts_at` (made at `now`)."""
    return book_appointment(user(world, "advisor"), {
        "store_id": world.stores[0], "service_type_id": service_type_id(code), "customer_id": car.customer_id,
        "asset_id": car.id, "starts_at": starts_at}, now=now)


def repair(world, car, *, code="maintenance", category="maintenance", arrived, delivered, mileage, walk_in=True,
           labour=(("更换机油机滤", "1.0", "customer"),), parts=(), qc_reject=False):
    """A repair order from reception to delivery: received at `arrived` (from an appointment booked a day earlier
    unless `walk_in`), items, dispatched to the technician, QC (rejected once if asked), delivered at `delivered`."""
    from storecrm.plugins.dealership import services

    advisor = user(world, "advisor")
    data = {"asset_id": car.id, "service_kind": code, "complaint_category": category, "mileage": mileage,
            "complaint": "客户反映" + category}
    if walk_in:
        data.update(store_id=world.stores[0], customer_id=car.customer_id)
    else:
        appointment = book(world, car, code, arrived, now=arrived - timedelta(days=1))
        data["appointment_id"] = appointment.id
    ro = services.receive(advisor, data, now=arrived)
    for description, hours, payer in labour:
        services.add_line(advisor, ro, {"kind": "labour", "description": description, "hours": hours,
                                        "payer": payer})
    for item, quantity, payer in parts:
        services.add_line(advisor, ro, {"kind": "part", "item_id": item.id, "quantity": quantity, "payer": payer})
    tech = user(world, "technician")
    services.dispatch(advisor, ro, tech.id, now=arrived + timedelta(minutes=5))
    services.start_work(tech, ro, now=arrived + timedelta(minutes=10))
    services.finish_work(tech, ro, now=delivered - timedelta(minutes=20))
    every = {item["code"]: True for item in services.checklist_of(ro)}
    if qc_reject:
        services.quality_check(tech, ro, {**every, next(iter(every)): False}, reason="机油液位偏低",
                               now=delivered - timedelta(minutes=15))
        services.finish_work(tech, ro, now=delivered - timedelta(minutes=12))
    services.quality_check(tech, ro, every, now=delivered - timedelta(minutes=10))
    services.deliver(advisor, ro, method="wechat_pay", now=delivered)
    return ro


def appointments_of(customer_id):
    return list(db.session.scalars(select(Appointment).where(Appointment.customer_id == customer_id)))


def service_types():
    return {s.name: s for s in db.session.scalars(select(ServiceType))}


def lead(world, mobile, name="王先生", interest="大众 帕萨特"):
    """An open lead captured by staff into a showroom channel of store 1."""
    from storecrm.sdk import LeadChannel, capture_lead

    channel = db.session.scalar(select(LeadChannel).where(LeadChannel.name == "展厅"))
    if channel is None:
        channel = LeadChannel(name="展厅", secret="test-secret", store_id=world.stores[0])
        db.session.add(channel)
        db.session.flush()
    found, _created = capture_lead(channel.id, {"name": name, "mobile": mobile, "interest": interest,
                                                "store_id": world.stores[0]}, user=user(world, "advisor"))
    return found


def demo_car_ids(world):
    from storecrm.sdk import Resource

    return list(db.session.scalars(select(Resource.id).where(Resource.kind == "demo_car",
                                                             Resource.store_id == world.stores[0])
                                   .order_by(Resource.id)))
