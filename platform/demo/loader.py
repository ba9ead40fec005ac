from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant

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
    from ..access.models import Role
    from ..customers.models import Customer
    from ..stores.services import create_store
    from ..tenancy.services import create_tenant
    from ..users.services import create_user

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
        from ..stores.models import Store

        xuhui = db.session.scalar(select(Store).where(Store.code == "XH01"))
        pudong = create_store({"code": "PD02", "name": "上海浦东店", "phone": "+862158761234", "province": "上海",
                               "city": "上海", "address": "浦东新区张杨路 1500 号", "opens_at": time(9, 30),
                               "closes_at": time(20, 30), "active": True})
        for i, (email, role) in enumerate(DEMO_USERS[1:], start=2):
            stores = [xuhui.id, pudong.id] if role in ("admin",) else [xuhui.id if role != "technician" else pudong.id]
            create_user({"display_name": STAFF_NAMES[role], "email": email, "mobile": f"+861391600000{i}",
                         "password": DEMO_PASSWORD, "role_id": roles[role].id, "store_ids": stores})
        from ..customers.identities import add as add_identity

        used, plates = set(), set()
        today = date.today()
        for n in range(customers):
            while True:
                mobile = "+86" + rng.choice(PREFIXES) + f"{rng.randrange(10**8):08d}"
                if mobile not in used:
                    used.add(mobile)
                    break
            gender = rng.choice("MF")
            customer = Customer(
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
        db.session.commit()
    return True
