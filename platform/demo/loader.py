from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from marshmallow import ValidationError
from sqlalchemy import select

from ..access.models import Role
from ..activities.models import Interaction, Task
from ..activities.services import create_task
from ..assets.models import Asset, AssetOwnership
from ..customers.identities import add as add_identity
from ..customers.identity import vin_check_digit
from ..customers.models import Customer, CustomerIdentity
from ..extensions import db
from ..fields.models import FieldDefinition
from ..notifications.services import notify_user
from ..calendar import tenant_today, tenant_zone
from ..rules import engine as rules
from ..scheduling.booking import book as book_appointment
from ..scheduling.models import Resource, ServiceType, WorkingPattern
from ..scheduling.setup import set_staff_profile
from ..stores.models import Store
from ..stores.services import create_store
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from ..users.models import User
from ..users.services import create_user
from ..workflow import engine as workflows
from ..workspace.services import create_tenant

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    ("owner@demo.storecrm.cn", "owner"),
    ("admin@demo.storecrm.cn", "admin"),
    ("manager@demo.storecrm.cn", "manager"),
    ("advisor@demo.storecrm.cn", "advisor"),
    ("tech@demo.storecrm.cn", "technician"),
]
STAFF_NAMES = {"owner": "陈志远", "admin": "林晓燕", "manager": "王建国", "advisor": "张敏", "technician": "刘师傅"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "金凤", "志强", "晓明", "婷", "雪", "浩然", "子轩", "雨涵",
         "欣怡", "梓涵", "宇航", "思远", "佳怡", "俊杰", "一鸣", "海燕", "国庆", "建军", "丹", "鹏", "辉", "玲"]
PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
            "158", "159", "166", "176", "177", "178", "180", "181", "185", "186", "187", "188", "189", "199"]
SOURCES = ["到店", "抖音", "美团", "老客户介绍", "小红书", "大众点评", "微信公众号", "车展"]
DISTRICTS = ["徐汇区漕溪北路", "浦东新区张杨路", "闵行区莘庄", "静安区南京西路", "长宁区天山路", "杨浦区五角场",
             "普陀区长寿路", "宝山区友谊路", "嘉定区城中路", "松江区人民北路"]
NOTES = ["想升级原车音响，预算一万左右", "关注隔音降噪套餐", "老客户，去年做过全车隔音", "询问DSP调音", "对比过三家店",
         "周末有空到店", "想加装氛围灯", "新车提车后再来", None, None, None]


def load_demo(customers: int = 300, seed: int = 20261122) -> bool:
    """Create the demo tenant once; return False if it already exists (data is reused)."""
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG)):
        db.session.rollback()
        return False
    db.session.rollback()
    rng = random.Random(seed)
    tenant = create_tenant(
        slug=DEMO_SLUG, name="鸣笛汽车音响改装连锁", locale="zh_CN",
        store={"code": "XH01", "name": "上海徐汇旗舰店", "phone": "+862164381234", "province": "上海",
               "city": "上海", "address": "徐汇区漕溪北路 88 号", "opens_at": time(9), "closes_at": time(21)},
        owner={"display_name": STAFF_NAMES["owner"], "email": DEMO_USERS[0][0], "mobile": "+8613916000001",
               "password": DEMO_PASSWORD},
    )
    with tenant_context(tenant):
        roles = {r.code: r for r in db.session.scalars(select(Role))}

        xuhui = db.session.scalar(select(Store).where(Store.code == "XH01"))
        pudong = create_store({"code": "PD02", "name": "上海浦东店", "phone": "+862158761234", "province": "上海",
                               "city": "上海", "address": "浦东新区张杨路 1500 号", "opens_at": time(9, 30),
                               "closes_at": time(20, 30), "active": True})
        for i, (email, role) in enumerate(DEMO_USERS[1:], start=2):
            stores = [xuhui.id, pudong.id] if role in ("admin",) else [xuhui.id if role != "technician" else pudong.id]
            create_user({"display_name": STAFF_NAMES[role], "email": email, "mobile": f"+861391600000{i}",
                         "password": DEMO_PASSWORD, "role_id": roles[role].id, "store_ids": stores})

        db.session.add(FieldDefinition(entity="customer", code="music_style", label_zh="音乐风格", label_en="Music style",
                                       type="select", options=["人声", "流行", "摇滚", "古典", "电子"], position=10))
        db.session.add(FieldDefinition(entity="customer", code="budget", label_zh="预算", label_en="Budget",
                                       type="money", position=20))
        db.session.add(FieldDefinition(entity="asset", code="done_photos", label_zh="完工照片",
                                       label_en="Completion photos", type="photo", position=10,
                                       help="技师完工后用手机拍照上传"))

        used, plates = set(), set()
        today = date.today()
        for n in range(customers):
            while True:
                mobile = "+86" + rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
                if mobile not in used:
                    used.add(mobile)
                    break
            gender = rng.choice("MF")
            custom = {"music_style": rng.choice(["人声", "流行", "摇滚", "古典", "电子"])} if rng.random() < 0.6 else {}
            if rng.random() < 0.4:
                custom["budget"] = f"{rng.choice([3000, 5000, 8000, 12000, 20000, 35000])}.00"
            customer = Customer(custom=custom,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN), mobile=mobile, gender=gender,
                birthday=today - timedelta(days=rng.randrange(20 * 365, 60 * 365)) if rng.random() < 0.7 else None,
                city="上海", address=rng.choice(DISTRICTS) + f"{rng.randrange(1, 999)}号",
                source=rng.choice(SOURCES), notes=rng.choice(NOTES),
                store_id=xuhui.id if rng.random() < 0.6 else pudong.id,
            )
            db.session.add(customer)
            db.session.flush()
            add_identity(customer, "mobile", mobile, primary=True)
            if rng.random() < 0.8:  # most customers come with a car
                while True:
                    plate = "沪" + rng.choice("ABCDEFGHJKLMN") + ("D" if rng.random() < 0.25 else "") + \
                        "".join(rng.choice("0123456789") for _ in range(5))
                    if plate not in plates:
                        plates.add(plate)
                        break
                add_identity(customer, "plate", plate)
                if rng.random() < 0.5:
                    _demo_car(customer, plate, rng, today)
        _demo_activity(rng, today)
        _demo_engines(rng)
        _demo_scheduling(rng)
        db.session.commit()
    return True


def _demo_engines(rng) -> None:
    """Workflows and rules from the templates: leads in follow-up (one overdue), install jobs at QC, a quote waiting for
    the manager's approval, and the anniversary and birthday rules switched on."""
    from flask_babel import force_locale

    by_email = {u.email: u for u in db.session.scalars(select(User))}
    owner, manager = by_email["owner@demo.storecrm.cn"], by_email["manager@demo.storecrm.cn"]
    advisor, technician = by_email["advisor@demo.storecrm.cn"], by_email["tech@demo.storecrm.cn"]
    with force_locale("zh_CN"):
        for code in ("lead", "quote_approval", "install_qc"):
            workflows.copy_template(owner, code)
        for code in ("install_anniversary", "birthday", "dormant", "delivery_follow_up"):
            rule = rules.copy_template(code)
            if code in ("install_anniversary", "birthday"):
                rules.save(rule, {**{k: getattr(rule, k) for k in ("name", "entity", "trigger", "conditions",
                                                                   "actions", "run_hour")}, "enabled": True})
    xuhui = [c for c in db.session.scalars(select(Customer).order_by(Customer.id.desc()).limit(40))
             if c.store_id in advisor.store_ids]
    for n, customer in enumerate(xuhui[:5]):
        item = workflows.start(advisor, "customer", customer, "lead")
        if n == 0:  # overdue: entered a day and a half ago; its escalation fires at the scheduler's next minute
            item.entered_at -= timedelta(hours=36)
            workflows.arm_deadline(item, workflows.definition_of(item).spec)
        elif n >= 3:
            workflows.move(advisor, item, "contact", comment=rng.choice(["约了周六到店试听", "已加微信，发了方案"]))
    quote_for = xuhui[6]
    item = workflows.start(advisor, "customer", quote_for, "quote_approval")
    workflows.move(advisor, item, "submit", values={"custom.quote_amount": "18800"}, comment="全车隔音 + DSP 套餐")
    cars = list(db.session.scalars(select(Asset).where(Asset.store_id.in_(technician.store_ids)).limit(3)))
    for car in cars:
        item = workflows.start(manager, "asset", car, "install_qc")
        workflows.move(technician, item, "begin")


def _demo_scheduling(rng) -> None:
    """The Pudong store's bays, three bookable services, the technician's week, and appointments today and tomorrow."""
    pudong = db.session.scalar(select(Store).where(Store.code == "PD02"))
    technician = db.session.scalar(select(User).where(User.email == "tech@demo.storecrm.cn"))
    for weekday in range(6):
        db.session.add(WorkingPattern(user_id=technician.id, store_id=pudong.id, weekday=weekday,
                                      starts_at=time(9, 30), ends_at=time(18, 30)))
    set_staff_profile(technician, {"skills": {"安装": 4, "调音": 3}, "regions": ["浦东新区"]})
    for name in ("工位 1", "工位 2"):
        db.session.add(Resource(store_id=pudong.id, name=name, kind="bay", capacity=1))
    db.session.add(Resource(store_id=pudong.id, name="举升机", kind="lift", capacity=1))
    services = [ServiceType(name="音响升级安装", duration_minutes=120, buffer_minutes=15, required_skills={"安装": 3},
                            resource_kind="bay"),
                ServiceType(name="全车隔音", duration_minutes=240, buffer_minutes=30, required_skills={"安装": 2},
                            resource_kind="bay"),
                ServiceType(name="DSP 调音", duration_minutes=60, buffer_minutes=0, required_skills={"调音": 3})]
    db.session.add_all(services)
    db.session.flush()
    customers = list(db.session.scalars(select(Customer.id).where(Customer.store_id == pudong.id).limit(8)))
    if not customers:
        return
    today = tenant_today()
    midnight = datetime.combine(today, time(0), tzinfo=tenant_zone())
    for n, (day, hour, service) in enumerate([(0, 10, 0), (0, 14, 2), (1, 9.5, 1), (1, 15, 2), (2, 10, 0)]):
        start = datetime.combine(today + timedelta(days=day), time(int(hour), int(hour % 1 * 60)),
                                 tzinfo=tenant_zone())
        try:
            book_appointment(None, {"store_id": pudong.id, "service_type_id": services[service].id,
                                    "customer_id": customers[n % len(customers)], "starts_at": start},
                             now=midnight)
        except ValidationError:  # Sunday, or the technician's day is full: the demo simply has one less
            continue


CARS = [("大众", "帕萨特"), ("丰田", "凯美瑞"), ("本田", "雅阁"), ("特斯拉", "Model 3"), ("比亚迪", "汉"), ("宝马", "3系"),
        ("奥迪", "A4L"), ("别克", "GL8"), ("蔚来", "ES6"), ("理想", "L7")]


def _demo_vin(rng) -> str:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    body = "L" + "".join(rng.choice(chars) for _ in range(16))
    return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]


def _demo_car(customer, plate, rng, today) -> None:
    """A car with its plate (already an identity) and VIN, and an audio install some months ago."""
    brand, model = rng.choice(CARS)
    year = rng.randrange(2015, today.year + 1)
    installed = today - timedelta(days=rng.randrange(10, 900))
    car = Asset(customer_id=customer.id, type="vehicle", name=f"{year} {brand}{model}", store_id=customer.store_id,
                installed_on=installed, warranty_until=installed + timedelta(days=730),
                attributes={"brand": brand, "model": model, "year": year, "odometer_km": rng.randrange(3000, 150000)})
    db.session.add(car)
    db.session.flush()
    db.session.add(AssetOwnership(asset_id=car.id, customer_id=customer.id))
    for identity in db.session.scalars(select(CustomerIdentity).where(CustomerIdentity.customer_id == customer.id,
                                                                      CustomerIdentity.value == plate)):
        identity.asset_id = car.id
    add_identity(customer, "vin", _demo_vin(rng)).asset_id = car.id


def _demo_activity(rng, today) -> None:
    """Some calls and visits, and open tasks for the advisor (a few of them overdue)."""
    from datetime import datetime, timezone

    advisor = db.session.scalar(select(User).where(User.email == "advisor@demo.storecrm.cn"))
    customers = list(db.session.scalars(select(Customer).order_by(Customer.id).limit(60)))
    notes = ["电话回访：音响效果满意", "到店咨询隔音套餐", "微信发送了方案报价", "预约周六上午试听", "询问DSP调音价格"]
    for customer in customers[:40]:
        db.session.add(Interaction(customer_id=customer.id, user_id=advisor.id, kind=rng.choice(["call", "visit", "message"]),
                                   body=rng.choice(notes),
                                   occurred_at=datetime.now(timezone.utc) - timedelta(days=rng.randrange(0, 60))))

    manager = db.session.scalar(select(User).where(User.email == "manager@demo.storecrm.cn"))
    now = datetime.now(timezone.utc)
    # a reminder that fires a minute after `make run`, so the bell and the scheduler can be seen at work
    theirs = next(c for c in customers if manager.sees_all_stores or c.store_id in manager.store_ids)
    create_task(manager, {"title": "回访：确认音响调试效果", "customer_id": theirs.id, "assignee_id": manager.id,
                          "due_at": now + timedelta(hours=2), "remind_at": now + timedelta(minutes=1)})
    owner = db.session.scalar(select(User).where(User.email == "owner@demo.storecrm.cn"))
    notify_user(owner, "欢迎使用 StoreCRM 演示租户", "客户、资产、待办和导入都已备好示例数据；管理菜单里可以设置自定义字段、"
                "Webhook 和消息模板。", email=False)
    for customer in customers[:12]:
        db.session.add(Task(title=rng.choice(["回访：安装后7天", "跟进报价", "提醒到店保养", "生日关怀电话"]),
                            assignee_id=advisor.id, customer_id=customer.id, created_by_id=advisor.id,
                            priority=rng.choice(["normal", "high"]),
                            due_at=datetime.now(timezone.utc) + timedelta(hours=rng.randrange(-72, 240))))
