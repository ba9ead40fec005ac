"""The demo tenant `dealer` (`register_demo_tenants`): a dealer group with two stores, its workshop (skills and
shifts), parts in stock, customers with their cars, appointments for tomorrow, repair orders in every state and
answered follow-up surveys. Small on purpose: `flask demo load` runs it in a few seconds."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import (LeadChannel, SurveyInvitation, add_odometer_reading, add_working_pattern, answer_invitation,
                          book_appointment, capture_lead, create_asset, create_catalog_item, create_customer, db,
                          receive_stock, set_staff_skills, stock_location_for_store, tenant_zone, utcnow)

from . import sales, services

STORES = ({"code": "SH01", "name": "浦西旗舰店", "city": "上海", "address": "徐汇区漕溪北路 88 号",
           "opens_at": time(8, 30), "closes_at": time(18, 0)},
          {"code": "SH02", "name": "浦东店", "city": "上海", "address": "浦东新区张杨路 1200 号",
           "opens_at": time(8, 30), "closes_at": time(18, 0)})

CUSTOMERS = (("王建国", "13916000001", "沪A1K238", "LSVAU2182N2183290", "大众", "帕萨特 330TSI", "豪华版"),
             ("李娜", "13916000002", "沪B7M520", "LFV2A21K2H3041234", "大众", "迈腾 380TSI", "旗舰版"),
             ("张伟", "13916000003", "沪C3P911", "LSGPC52U8AF102345", "别克", "君越 28T", "尊贵型"),
             ("刘芳", "13916000004", "沪AD12345", None, "大众", "ID.4 CROZZ", "长续航"),
             ("陈磊", "13916000005", "沪E55H08", None, "别克", "GL8 陆上公务舱", "豪华型"),
             ("杨静", "13916000006", "沪F20A66", None, "大众", "途观L 380TSI", "四驱旗舰"),
             ("赵强", "13916000007", "沪G9Q777", None, "大众", "朗逸 1.5L", "舒适版"),
             ("黄敏", "13916000008", "沪H6N302", None, "别克", "英朗 15N", "精英型"))

PARTS = (("OIL-5W30-4L", "机油 5W-30 4L", "380.00"), ("FLT-OIL-06L", "机油滤清器", "68.00"),
         ("BRK-PAD-FR", "前刹车片（套）", "560.00"))


def _at(ctx, days_ago: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(ctx.today - timedelta(days=days_ago), time(hour, minute), tzinfo=tenant_zone())


def load_demo(ctx):
    advisor, tech, manager = ctx.users["advisor"], ctx.users["technician"], ctx.users["manager"]
    first = ctx.stores[0]
    set_staff_skills(tech, {"保养": 4, "机修": 3, "电气": 2, "检测": 3})
    set_staff_skills(manager, {"保养": 2, "检测": 2})
    for weekday in range(6):
        for store in ctx.stores:
            add_working_pattern(None, {"user_id": tech.id, "store_id": store.id, "weekday": weekday,
                                       "starts_at": time(8, 30) if store is first else time(13, 30),
                                       "ends_at": time(13, 0) if store is first else time(18, 0)})
    parts = []
    for sku, name, price in PARTS:
        item = create_catalog_item(advisor, {"kind": "part", "sku": sku, "name": name, "list_price": price,
                                             "cost": str(round(float(price) * 0.6, 2))})
        for store in ctx.stores:
            receive_stock(item, stock_location_for_store(store), 40, unit_cost=str(round(float(price) * 0.6, 2)))
        parts.append(item)

    cars = []
    for n, (name, mobile, plate, vin, brand, model, trim) in enumerate(CUSTOMERS):
        customer = create_customer(advisor, {"name": name, "mobile": mobile, "store_id": first.id})
        identifiers = {"plate": plate, **({"vin": vin} if vin else {})}
        insured_until = ctx.today + timedelta(days=20 + 40 * n)
        car = create_asset(advisor, customer, {
            "type": "vehicle", "name": f"{brand} {model}", "store_id": first.id, "identifiers": identifiers,
            "purchased_on": ctx.today - timedelta(days=400 + 90 * n),
            "warranty_until": ctx.today + timedelta(days=700 - 90 * n),
            "attributes": {"brand": brand, "model": model, "color": ctx.rng.choice(["珍珠白", "曜石黑", "星空灰"])},
            "custom": {"trim": trim, "insurer": ctx.rng.choice(["中国人保", "平安保险", "太平洋保险"]),
                       "commercial_insurance_until": insured_until.isoformat(),
                       "compulsory_insurance_until": insured_until.isoformat()}})
        add_odometer_reading(advisor, car, 8000 + 3000 * n, read_on=ctx.today - timedelta(days=200), service=True)
        cars.append(car)

    def walk(car, days_ago, kind="maintenance", category="maintenance", complaint="常规保养", wait=80, state="delivered",
             walk_in=True, mileage=None, part_lines=((0, "1"), (1, "1")), reject=False):
        arrived = _at(ctx, days_ago, 9 + (len(made) % 4) * 2, 10)
        if days_ago == 0:  # today's cars came in during the last hours, whatever time the demo is loaded
            arrived = min(arrived, utcnow() - timedelta(minutes=40 + 25 * len(made)))
        data = {"asset_id": car.id, "service_kind": kind, "complaint_category": category, "complaint": complaint,
                "mileage": mileage or 12000 + 3000 * cars.index(car) + (30 - days_ago) * 10}
        if walk_in:
            data.update(store_id=first.id, customer_id=car.customer_id)
        else:
            appointment = book_appointment(advisor, {
                "store_id": first.id, "service_type_id": services.service_kind(kind).service_type_id,
                "customer_id": car.customer_id, "asset_id": car.id, "starts_at": arrived},
                now=arrived - timedelta(days=2))
            data["appointment_id"] = appointment.id
        ro = services.receive(advisor, data, now=arrived)
        made.append(ro)
        services.add_line(advisor, ro, {"kind": "labour", "description": "保养工时" if kind == "maintenance"
                                        else "故障诊断与维修", "hours": "1.0" if kind == "maintenance" else "2.5",
                                        "skill": "机修" if kind == "repair" else None})
        for index, quantity in part_lines:
            services.add_line(advisor, ro, {"kind": "part", "item_id": parts[index].id, "quantity": quantity})
        if state == "reception":
            return ro
        if state == "cancelled":
            return services.cancel(advisor, ro, "客户改期")
        services.dispatch(advisor, ro, tech.id, now=arrived + timedelta(minutes=8))
        if state == "dispatched":
            return ro
        services.start_work(tech, ro, now=arrived + timedelta(minutes=15))
        if state == "in_progress":
            return ro
        services.finish_work(tech, ro, now=arrived + timedelta(minutes=wait - 20))
        if state == "qc":
            return ro
        every = {item["code"]: True for item in services.checklist_of(ro)}
        if reject:
            services.quality_check(manager, ro, {**every, next(iter(every)): False}, reason="油位偏低，请复查",
                                   now=arrived + timedelta(minutes=wait - 18))
            services.finish_work(tech, ro, now=arrived + timedelta(minutes=wait - 14))
        services.quality_check(manager, ro, every, now=arrived + timedelta(minutes=wait - 10))
        if state == "ready":
            return ro
        services.deliver(advisor, ro, method=ctx.rng.choice(["wechat_pay", "alipay", "bank_card"]),
                         now=arrived + timedelta(minutes=wait))
        return ro

    made: list = []
    walk(cars[0], 12, walk_in=False, wait=75)
    walk(cars[1], 11, kind="repair", category="electrical", complaint="仪表盘胎压灯常亮", wait=150, reject=True,
         part_lines=())
    walk(cars[1], 10, kind="repair", category="electrical", complaint="胎压灯又亮了", wait=95, part_lines=())
    walk(cars[2], 9, walk_in=False, wait=60)
    walk(cars[3], 7, kind="repair", category="chassis", complaint="刹车异响", wait=130, part_lines=((2, "1"),))
    walk(cars[4], 5, wait=110)
    walk(cars[5], 3, walk_in=False, wait=70)
    walk(cars[6], 0, state="ready", wait=65)
    walk(cars[7], 0, state="qc", kind="repair", category="engine", complaint="冷车启动抖动", part_lines=())
    walk(cars[2], 0, state="in_progress", kind="inspection", category="other", complaint="年检前检测",
         part_lines=())
    walk(cars[4], 0, state="dispatched", kind="repair", category="air_con", complaint="空调不制冷", part_lines=())
    walk(cars[5], 0, state="reception", kind="repair", category="body", complaint="右后门划痕", part_lines=())
    walk(cars[0], 1, state="cancelled", part_lines=())

    services.send_due_follow_ups(now=_at(ctx, 0, 8))
    answers = {0: (5, 5, 4, 5, 10), 1: (4, 3, 2, 4, 6), 2: (5, 4, 4, 4, 9), 3: (5, 5, 5, 5, 10), 4: (4, 4, 3, 4, 8)}
    invitations = list(db.session.scalars(select(SurveyInvitation).where(
        SurveyInvitation.related_type == services.ENTITY).order_by(SurveyInvitation.id)))
    csi_id = services.follow_up_surveys()[0].id
    by_order: dict[int, list] = {}
    for invitation in invitations:
        by_order.setdefault(invitation.related_id, []).append(invitation)
    for n, (ro_id, pair) in enumerate(sorted(by_order.items())):
        if n not in answers:
            continue
        advisor_score, quality, waiting, facility, nps = answers[n]
        for invitation in pair:
            survey_scores = ({"advisor": advisor_score, "quality": quality, "waiting": waiting,
                              "facility": facility} if invitation.survey_id == csi_id else {"recommend": nps})
            answer_invitation(invitation, survey_scores, "等待时间有点长" if waiting <= 2 else None)

    tomorrow = ctx.today + timedelta(days=1)
    for n, car in enumerate(cars[:3]):
        book_appointment(advisor, {"store_id": first.id, "customer_id": car.customer_id, "asset_id": car.id,
                                   "service_type_id": services.service_kind("maintenance").service_type_id,
                                   "starts_at": datetime.combine(tomorrow, time(9 + n), tzinfo=tenant_zone())},
                         source="staff")
    _sales_demo(ctx, advisor, first, tomorrow)


def _sales_demo(ctx, advisor, store, tomorrow):
    """Showroom leads with a car model; two of them booked for a test drive tomorrow (moved to 已试驾)."""
    channel = LeadChannel(name="展厅到店", secret="demo-showroom", store_id=store.id)
    db.session.add(channel)
    db.session.flush()
    cars = [c for c in sales.demo_cars(advisor) if c.store_id == store.id]
    for n, (name, mobile, model) in enumerate((("周先生", "13916100001", "大众 帕萨特 2024款"),
                                               ("吴女士", "13916100002", "大众 ID.4 CROZZ"),
                                               ("郑先生", "13916100003", "别克 GL8 ES陆尊"))):
        lead, _created = capture_lead(channel.id, {"name": name, "mobile": mobile, "interest": model,
                                                   "store_id": store.id}, user=advisor)
        if n < 2 and cars:
            try:
                with db.session.begin_nested():
                    sales.book_test_drive(advisor, lead, {
                        "resource_id": cars[n % len(cars)].id, "advisor_id": advisor.id, "model": model,
                        "starts_at": datetime.combine(tomorrow, time(14 + n), tzinfo=tenant_zone())})
            except ValidationError:
                pass  # the demo never fails over a test drive
