"""Helpers of the car-audio tests: a shop ready to work (bays, the technician's week with DSP skill, stock with
serials, a customer's car) and a job taken from quote to any state through the services."""
from datetime import datetime, time, timedelta

from sqlalchemy import select

from storecrm.sdk import (Customer, User, add_working_pattern, create_asset, db, find_item_by_sku,
                          get_scoped, receive_stock, save_resource, set_staff_skills, stock_location_for_store,
                          tenant_today, tenant_zone)

def _png():
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(out, "PNG")
    return out.getvalue()


PNG = _png()
SIGNATURE = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="


def user(world, role):
    return db.session.get(User, (world.id, world.users[role]))


def shop(world, serials=("FOCAL-0001", "FOCAL-0002", "HELIX-0001", "HELIX-0002")):
    """Bays in the first store, the technician on shift every day 8–20 with DSP tuning 5, and stock with serials."""
    from storecrm.sdk import Store
    owner = user(world, "owner")
    store = get_scoped(Store, world.stores[0])
    bays = [save_resource(owner, {"store_id": store.id, "name": f"{n}号工位", "kind": "bay", "capacity": 1,
                                        "active": True}) for n in (1, 2)]
    tech = user(world, "technician")
    for weekday in range(7):
        add_working_pattern(owner, {"user_id": tech.id, "store_id": store.id, "weekday": weekday,
                                    "starts_at": time(8), "ends_at": time(20)})
    set_staff_skills(tech, {"DSP调音": 5, "安装": 4})
    shelf = stock_location_for_store(store)
    focal = [s for s in serials if s.startswith("FOCAL")]
    helix = [s for s in serials if s.startswith("HELIX")]
    receive_stock(find_item_by_sku("CA-SPK-FOCAL-165"), shelf, len(focal), unit_cost="1800", serials=focal,
                  staff=owner)
    receive_stock(find_item_by_sku("CA-DSP-HELIX-8"), shelf, len(helix), unit_cost="3200", serials=helix, staff=owner)
    for sku in ("CA-DEAD-STP-DOOR", "CA-WIRE-KIT"):
        receive_stock(find_item_by_sku(sku), shelf, 10, unit_cost="300", staff=owner)
    return bays


def car(world, customer_index=0, name="2022 宝马 5系", brand="宝马", model="5系"):
    customer = db.session.get(Customer, (world.id, world.customers[customer_index]))
    return create_asset(user(world, "owner"), customer, {"type": "vehicle", "name": name, "store_id": customer.store_id,
                                                         "attributes": {"brand": brand, "model": model, "year": 2022}})


def tomorrow_at(hour=10):
    return datetime.combine(tenant_today() + timedelta(days=1), time(hour), tzinfo=tenant_zone())


def order_for(world, vehicle, package_sku="CA-PKG-MID"):
    """A quote for the package, approved, sent and accepted (as the customer on the link): the order."""
    from storecrm.sdk import (accept_quote, quote_approval_state, send_quote, submit_quote_for_approval,
                              vote_on_quote)
    from storecrm.plugins.car_audio import services
    quote = services.create_quote(user(world, "owner"), {"customer_id": vehicle.customer_id, "vehicle_id": vehicle.id,
                                            "package_id": find_item_by_sku(package_sku).id, "labour_hours": 1,
                                            "labour_rate": 200, "discount_pct": 5})
    advisor = user(world, "advisor")
    submit_quote_for_approval(advisor, quote)
    if quote_approval_state(quote) == "pending":
        vote_on_quote(user(world, "manager"), quote)
    send_quote(advisor, quote)
    return accept_quote(quote, {"name": "王先生", "signature": SIGNATURE})


def job_at(world, status, vehicle=None):
    """An install job walked through the services up to `status`."""
    from storecrm.plugins.car_audio import services
    from storecrm.plugins.car_audio.models import InstallJob
    vehicle = vehicle or car(world)
    order = order_for(world, vehicle)
    job = db.session.scalar(select(InstallJob).where(InstallJob.order_id == order.id))
    if status == "new":
        return job
    owner, tech = user(world, "owner"), user(world, "technician")
    bays = services.bays(job.store_id)
    services.book_job(owner, job, {"starts_at": tomorrow_at(), "technician_id": tech.id, "bay_id": bays[0].id})
    if status == "booked":
        return job
    services.add_photo(tech, job, "before", "before.png", PNG)
    services.check_in(tech, job, {"scratches": True, "warning_lights": False, "electrics": True, "notes": "左后门划痕",
                                  "signed_name": "王先生", "signature": SIGNATURE})
    services.start_install(tech, job)
    if status == "installing":
        return job
    from storecrm.plugins.car_audio import labels
    services.set_checklist(tech, job, set(labels.CHECKLIST))
    services.install_component(tech, job, {"item_id": find_item_by_sku("CA-SPK-FOCAL-165").id, "kind": "speaker",
                                           "position": "front_left", "serial": "FOCAL-0001", "warranty_days": 730})
    services.install_component(tech, job, {"item_id": find_item_by_sku("CA-DSP-HELIX-8").id, "kind": "dsp",
                                           "position": "trunk", "serial": "HELIX-0001", "warranty_days": 365})
    services.record_tuning(tech, job, {"eq": [{"channel": "front_left", "freq_hz": 250, "gain_db": -3, "q": 1.4}],
                                       "crossovers": [{"channel": "front_left", "type": "hp", "freq_hz": 80,
                                                       "slope": 24}],
                                       "channels": {"front_left": {"delay_ms": 1.2, "phase": 0, "gain_db": -2}}})
    for kind in ("wiring", "finished", "phase_chart"):
        services.add_photo(tech, job, kind, f"{kind}.png", PNG)
    services.submit_for_qc(tech, job)
    if status == "qc":
        return job
    services.qc_pass(owner, job)
    if status == "acceptance":
        return job
    services.accept(tech, job, {"name": "王先生", "signature": SIGNATURE})
    if status == "accepted":
        return job
    from storecrm.sdk import get_order, record_payment
    order = get_order(owner, job.order_id)
    record_payment(owner, order, {"method": "wechat_pay", "amount": order.balance_due})
    services.deliver(owner, job)
    return job
