"""The car-audio demo tenant (`register_demo_tenants`): 声浪汽车音响改装, two stores in Shanghai, owners of BMWs and
Teslas with their music taste, quotes waiting for approval, install jobs in every state, delivered jobs over the
last months with answered satisfaction surveys and follow-ups. Written through the services as staff would."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from storecrm.sdk import (Asset, CatalogCategory, CatalogItem, SalesDocument, Store, SurveyInvitation,
                          accept_upload, add_working_pattern, answer_invitation, create_asset, create_customer,
                          create_sales_document, db, document_lines, expand_package, find_item_by_sku, get_scoped,
                          log_interaction, receive_stock, record_payment, save_resource, set_staff_skills,
                          stock_location_for_store, submit_quote_for_approval, tenant_zone)

from . import labels, services
from .models import Component, JobStep
from .seeding import ITEMS

PEOPLE = (
    ("王建国", "宝马", "5系"), ("李娜", "奥迪", "A4L"), ("张伟", "特斯拉", "Model 3"), ("刘洋", "奔驰", "C级"),
    ("陈静", "大众", "帕萨特"), ("杨帆", "宝马", "3系"), ("赵磊", "丰田", "凯美瑞"), ("黄敏", "本田", "雅阁"),
    ("周杰", "比亚迪", "汉"), ("吴婷", "宝马", "5系"), ("徐强", "奥迪", "A6L"), ("孙丽", "特斯拉", "Model Y"),
    ("马超", "奔驰", "E级"),
)
PLATES = "ABCDEFGHJKLMNP"
COMMENTS = ("调音很用心，声场定位清楚", "等了两天才排上", "人声很通透，满意", "低音有点轰", "交车时车内有点脏",
            "技师讲解很专业", "")
REASONS_BY_LOW = (["tuning"], ["waiting"], ["cleanliness"], ["tuning", "delay"])


def load(ctx):
    _PHOTOS.clear()  # uploads are the tenant's own: none carried over from another load
    rng = ctx.rng
    xuhui, pudong = ctx.stores[0], ctx.stores[-1]
    owner, advisor, tech = ctx.users["owner"], ctx.users["advisor"], ctx.users["technician"]
    for store in (xuhui, pudong):
        for n in (1, 2):
            save_resource(owner, {"store_id": store.id, "name": f"{n}号工位", "kind": "bay", "capacity": 1,
                                        "active": True})
    for weekday in range(7):
        add_working_pattern(owner, {"user_id": tech.id, "store_id": pudong.id, "weekday": weekday,
                                    "starts_at": time(9), "ends_at": time(19)})
    set_staff_skills(tech, {services.DSP_SKILL: 5, "安装": 5}, ["浦东新区"])
    _stock(owner, (xuhui, pudong))

    cars = []
    for n, (name, brand, model) in enumerate(PEOPLE):
        store = pudong if n % 3 else xuhui
        custom = {"music_preference": rng.sample(labels.MUSIC, 2), "budget_range": rng.choice(labels.BUDGETS),
                  "preferred_brands": rng.choice(("Focal", "Helix", "JL Audio", "Morel"))}
        customer = create_customer(owner, {"name": name, "mobile": f"1391688{n:04d}", "store_id": store.id,
                                           "owner_id": advisor.id, "custom": custom,
                                           "birthday": date(1980 + n, 1 + n % 12, 10 + n % 9)})
        car = create_asset(owner, customer, {
            "type": "vehicle", "name": f"{2018 + n % 6} {brand}{model}", "store_id": store.id,
            "identifiers": {"plate": f"沪{PLATES[n % len(PLATES)]}{rng.randrange(10000, 99999)}"},
            "attributes": {"brand": brand, "model": model, "year": 2018 + n % 6}})
        cars.append((customer, car, store))

    tiers = ("CA-PKG-MID", "CA-PKG-HIGH", "CA-PKG-ENTRY", "CA-PKG-MID")
    # delivered over the last six months, with the survey answered (a few low) and the follow-up recorded
    for n, (customer, car, store) in enumerate(cars[:6]):
        job = _job(owner, tech, customer, car, store, tiers[n % 4], rng)
        _walk(job, owner, tech, "delivered", rng, serial_no=n)
        days_ago = 10 + n * 27
        _backdate(job, days_ago)
        invitation = get_scoped(SurveyInvitation, job.survey_invitation_id) if job.survey_invitation_id else None
        if invitation is not None:
            low = n in (2, 4)
            scores = {q: (rng.choice((2, 3)) if low else rng.choice((4, 5, 5))) for q in
                      ("timeliness", "expertise", "attitude", "sound")}
            response = answer_invitation(invitation, scores, rng.choice(COMMENTS[:6]) if low else rng.choice(COMMENTS))
            if response is not None:
                response.submitted_at = job.delivered_at + timedelta(days=2)
        reasons = REASONS_BY_LOW[n % len(REASONS_BY_LOW)] if n in (1, 2, 4) else []
        services.record_follow_up(advisor, job, {"notes": "电话回访，客户反馈正常使用", "reasons": reasons},
                                  now=job.delivered_at + timedelta(days=3))
    # an entry package two and a half years ago, and a recent enquiry: an upgrade candidate
    customer, car, store = cars[6]
    job = _job(owner, tech, customer, car, store, "CA-PKG-ENTRY", rng)
    _walk(job, owner, tech, "delivered", rng, serial_no=6)
    _backdate(job, 900)
    log_interaction(advisor, customer, {"kind": "call", "body": "咨询升级DSP和低音炮，想听更好的古典乐"})
    # one open job in every state of the workshop
    for n, status in enumerate(("new", "booked", "checked_in", "installing", "qc", "acceptance", "accepted",
                                "cancelled")):
        customer, car, store = cars[7 + n % 5]
        job = _job(owner, tech, customer, car, pudong, tiers[n % 4], rng)
        _walk(job, owner, tech, status, rng, serial_no=20 + n, future_day=1 + n % 3)
    # a quote waiting for the manager's approval
    customer, car, store = cars[-1]
    quote = services.create_quote(advisor, {"customer_id": customer.id, "vehicle_id": car.id,
                                            "package_id": find_item_by_sku("CA-PKG-HIGH").id,
                                            "labour_hours": Decimal(2), "labour_rate": Decimal(200),
                                            "discount_pct": Decimal(5), "notes": "全车隔音+三分频，客户偏好古典"})
    submit_quote_for_approval(advisor, quote)


def _stock(owner, stores):
    for store in stores:
        shelf = stock_location_for_store(store)
        for sku, _name, _brand, _cat, kind, _price, serial in ITEMS:
            if kind == "service":
                continue
            item = find_item_by_sku(sku)
            serials = [f"{sku[3:].replace('-', '')}{store.code}{n:03d}" for n in range(12)] if serial else ()
            receive_stock(item, shelf, 12, unit_cost=str(item.list_price * Decimal("0.55")), serials=serials,
                          staff=owner)


def _job(owner, tech, customer, car, store, package_sku, rng):
    package = find_item_by_sku(package_sku)
    order = create_sales_document(owner, "order", customer_id=customer.id, asset_id=car.id, store_id=store.id,
                                  source=(services.QUOTE_SOURCE, car.id), notes=package.name,
                                  lines=[{"item_id": package.id, "quantity": 1}])
    record_payment(owner, order, {"method": rng.choice(("wechat_pay", "alipay", "bank_card")),
                                  "amount": (order.total * Decimal("0.3")).quantize(Decimal("0.01"))})
    return services.job_from_order(owner, order)


FLOW = ("new", "booked", "checked_in", "installing", "qc", "acceptance", "accepted", "delivered")


def _walk(job, owner, tech, status, rng, *, serial_no, future_day=None):
    if status == "cancelled":
        services.cancel(owner, job, "客户改期到下个月")
        return
    target = FLOW.index(status)
    if target >= 1:
        if future_day is not None:
            day = datetime.now(tenant_zone()).date() + timedelta(days=future_day)
            starts = datetime.combine(day, time(9 + 5 * (serial_no % 2)), tzinfo=tenant_zone())
            bays = services.bays(job.store_id)
            services.book_job(owner, job, {"starts_at": starts, "technician_id": tech.id,
                                           "bay_id": bays[serial_no % len(bays)].id})
        else:  # an install from the past: booked then, straight into the workshop's history
            job.technician_id, job.bay_id = tech.id, services.bays(job.store_id)[0].id
            services._step(job, "booked", owner)
    if target >= 2:
        job.photos = {"before": [_photo(owner, "before")]}
        services.check_in(tech, job, {"scratches": rng.random() < 0.3, "warning_lights": False, "electrics": True,
                                      "notes": "", "signed_name": "客户", "signature": _SIGNATURE})
    if target >= 3:
        services.start_install(tech, job)
    if target >= 4:
        services.set_checklist(tech, job, set(labels.CHECKLIST))
        _components(job, tech)
        services.record_tuning(tech, job, _tuning(rng))
        job.photos = {kind: [_photo(owner, kind)] for kind in ("before", "wiring", "finished", "phase_chart")}
        services.submit_for_qc(tech, job)
        if serial_no % 4 == 1:
            services.qc_rework(owner, job, "左前门板有异响，重新固定")
            services.record_tuning(tech, job, _tuning(rng))
            services.submit_for_qc(tech, job)
    if target >= 5:
        services.qc_pass(owner, job)
    if target >= 6:
        services.accept(tech, job, {"name": "客户", "signature": _SIGNATURE})
    if target >= 7:
        order = get_scoped(SalesDocument, job.order_id)
        record_payment(owner, order, {"method": "wechat_pay", "amount": order.balance_due})
        services.deliver(owner, job)


_PHOTOS = {}


def _photo(owner, kind):
    """One small picture per kind, uploaded once per demo tenant and shared by the demo jobs."""
    if kind in _PHOTOS:
        return _PHOTOS[kind]
    import io

    from PIL import Image, ImageDraw
    colours = {"before": "#6c757d", "wiring": "#dc3545", "finished": "#198754", "phase_chart": "#0d6efd"}
    image = Image.new("RGB", (160, 120), colours[kind])
    ImageDraw.Draw(image).line([(0, 60), (40, 20), (80, 100), (120, 30), (160, 60)], fill="white", width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    _PHOTOS[kind] = accept_upload(owner, f"{kind}.png", out.getvalue(), images_only=True).id
    return _PHOTOS[kind]


def _components(job, tech):
    order = get_scoped(SalesDocument, job.order_id)
    package_id = next(line.package_item_id for line in document_lines(order) if line.package_item_id)
    order_package = get_scoped(CatalogItem, package_id)
    kinds = {"扬声器": "speaker", "功放": "amplifier", "DSP": "dsp", "低音炮": "subwoofer", "隔音": "deadening",
             "辅材": "wiring"}
    for item, _qty in expand_package(order_package):
        if not item.serial_tracked:  # the demo records the serialised parts; deadening and wiring go unrecorded
            continue
        category = get_scoped(CatalogCategory, item.category_id)
        kind = kinds.get(category.name if category else "", "wiring")
        serial = None
        if item.serial_tracked:
            serial = _next_serial(item, job.store_id)
        services.install_component(tech, job, {"item_id": item.id, "kind": kind,
                                               "position": "front_left" if kind == "speaker" else "trunk",
                                               "serial": serial, "warranty_days": 730 if kind == "speaker" else 365})


def _next_serial(item, store_id):
    store = get_scoped(Store, store_id)
    used = set(db.session.scalars(select(Component.serial).where(Component.item_id == item.id)))
    for n in range(12):
        serial = f"{item.sku[3:].replace('-', '')}{store.code}{n:03d}"
        if serial not in used:
            return serial
    return None


def _tuning(rng):
    return {"eq": [{"channel": "front_left", "freq_hz": f, "gain_db": rng.choice((-4.5, -3, -1.5, 1.5)), "q": 1.4}
                   for f in (125, 250, 2500)],
            "crossovers": [{"channel": "front_left", "type": "hp", "freq_hz": rng.choice((63, 80, 100)), "slope": 24},
                           {"channel": "sub", "type": "lp", "freq_hz": 80, "slope": 24}],
            "channels": {"front_left": {"delay_ms": rng.choice((1.2, 1.6, 2.0)), "phase": 0, "gain_db": -2},
                         "front_right": {"delay_ms": 0.0, "phase": 0, "gain_db": -1},
                         "sub": {"delay_ms": rng.choice((3.1, 3.6)), "phase": rng.choice((0, 180)), "gain_db": -6}}}


def _backdate(job, days_ago):
    shift = timedelta(days=days_ago)
    job.created_at -= shift
    job.delivered_at -= shift
    job.delivered_on -= shift
    job.follow_up_due_at -= shift
    if job.audio_system_id:
        system = get_scoped(Asset, job.audio_system_id)
        system.installed_on = job.delivered_on
    for step in db.session.scalars(select(JobStep).where(JobStep.job_id == job.id)):
        step.at -= shift
    for component in db.session.scalars(select(Component).where(Component.job_id == job.id)):
        component.installed_on -= shift
        component.warranty_until -= shift
    db.session.flush()


_SIGNATURE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/"
              "PchI7wAAAABJRU5ErkJggg==")
