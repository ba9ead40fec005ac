"""`make bench-data`: deterministic chains of stores, loaded with COPY through the real schema.

Every tenant is made by the product's own `create_tenant` (roles, first store, owner); its bulk rows are then
COPYed as the application role inside a transaction that sets `app.tenant_id` — into temporary twins of the tables,
since PostgreSQL refuses COPY into a table under row-level security — and moved in by one INSERT … SELECT per
table, so row-level security, foreign keys, unique constraints and indexes all apply as in production. Tenant i's rows depend only on (seed, i), so the small
database (B6) holds exactly the same probe tenant as the big one.

Scale 1 (BENCH_SCALE=1): 1,000 tenants, sizes Zipf-distributed with the largest ~100k customers, 1,000,000
customers, ~1,500,000 identities (mobile for all, VIN and plate for a quarter each), 1,000,000 assets,
5,000,000 interactions (timeline events), 200,000 tasks, two custom fields per tenant with values on customers.
"""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchenv  # noqa: E402

SEED = 20261122
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏浩宇轩子涵梓博文欣怡晨阳思雨佳琪俊豪"
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "南京", "苏州", "武汉", "西安"]
SOURCES = ["到店", "抖音", "转介绍", "美团", "老客户", "官网"]
TAGS = ["VIP", "老客户", "高意向", "车队", "投诉过", "团购"]
BRANDS = ["宝马", "奔驰", "奥迪", "特斯拉", "比亚迪", "丰田", "本田", "蔚来"]
DEVICES = ["功放", "低音炮", "智能门锁", "扫地机器人", "智能音箱", "会员卡"]
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁苏浙赣鄂桂甘晋陕吉闽贵粤川"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
KINDS = ["call", "visit", "message", "note"]
BODIES = {"call": "电话回访，客户对施工满意", "visit": "到店保养，顺便咨询升级音响", "message": "微信发送了保养提醒",
          "note": "客户希望周末到店"}
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def tenant_sizes(n_tenants: int, total: int) -> list[int]:
    """Zipf sizes whose largest is ~10% of the total (the biggest chain ~100k customers at scale 1)."""
    lo, hi = 0.1, 3.0
    for _ in range(60):  # find the exponent s with w1 / sum(w) = 0.1
        s = (lo + hi) / 2
        share = 1 / sum(i ** -s for i in range(1, n_tenants + 1))
        lo, hi = (s, hi) if share < 0.1 else (lo, s)
    weights = [i ** -s for i in range(1, n_tenants + 1)]
    total_w = sum(weights)
    return [max(3, round(total * w / total_w)) for w in weights]


def plan(scale: float) -> tuple[list[int], int]:
    """(sizes of every tenant, index of the probe tenant for B6)."""
    n_tenants = max(10, round(1000 * scale))
    sizes = tenant_sizes(n_tenants, round(1_000_000 * scale))
    probe = min(19, n_tenants - 1)  # the 20th-largest chain: a few thousand customers at scale 1
    return sizes, probe


def vin(rng: random.Random) -> str:
    from storecrm.customers.identity import vin_check_digit

    chars = [rng.choice(VIN_CHARS) for _ in range(17)]
    chars[8] = "0"
    chars[8] = vin_check_digit("".join(chars))
    return "".join(chars)


class Rows(io.RawIOBase):
    """A file object COPY reads from, filled lazily from an iterator of text lines."""

    def __init__(self, lines):
        self._lines, self._buf = lines, b""

    def readable(self):
        return True

    def readinto(self, target):
        while len(self._buf) < len(target):
            chunk = "".join(line for _, line in zip(range(2000), self._lines))
            if not chunk:
                break
            self._buf += chunk.encode()
        n = min(len(target), len(self._buf))
        target[:n], self._buf = self._buf[:n], self._buf[n:]
        return n


def _ts(value: datetime) -> str:
    return value.isoformat()


def _n(value) -> str:
    return "\\N" if value is None else str(value)


class Ids:
    """Next free id per table; rows get explicit ids so children can point at them before the COPY."""

    def __init__(self, conn, tables):
        with conn.cursor() as cur:
            self.next = {}
            for table in tables:
                cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
                self.next[table] = cur.fetchone()[0]

    def take(self, table: str, n: int) -> int:
        first = self.next[table]
        self.next[table] += n
        return first


def make_tenants(env: dict, indexes: list[int]) -> dict[int, dict]:
    """Create tenants through the product's service; return {index: {id, store, owner, roles}}."""
    os.environ.update(benchenv.app_env(env))
    from sqlalchemy import select

    from storecrm.access.models import Role
    from storecrm.app import create_app
    from storecrm.extensions import db
    from storecrm.stores.models import Store
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import Tenant
    from storecrm.tenancy.scoping import unscoped
    from storecrm.workspace.services import create_tenant
    from storecrm.users.models import User

    import logging

    app = create_app()
    logging.getLogger("storecrm.tenancy").setLevel(logging.ERROR)  # one "unscoped" warning per tenant is noise here
    out = {}
    with app.app_context():
        with unscoped(reason="benchmark data: find existing tenants") as system:
            existing = {t.slug: t.id for t in system.scalars(select(Tenant))}
        for index in indexes:
            slug = f"chain{index:04d}"
            if slug not in existing:
                create_tenant(slug=slug, name=f"连锁{index:04d}", owner={
                    "display_name": f"店长{index}", "email": f"owner@{slug}.bench", "password": benchenv.PASSWORD})
                with unscoped(reason="benchmark data: read new tenant id") as system:
                    existing[slug] = system.scalar(select(Tenant.id).where(Tenant.slug == slug))
            with tenant_context(TenantRef(existing[slug], slug)):
                store = db.session.scalar(select(Store.id).order_by(Store.id))
                owner = db.session.scalar(select(User).order_by(User.id))
                roles = {r.code: r.id for r in db.session.scalars(select(Role))}
                out[index] = {"id": existing[slug], "slug": slug, "store": store, "owner": owner.id,
                              "password_hash": owner.password_hash, "roles": roles}
            db.session.remove()
    return out


def tenant_rows(index: int, size: int, t: dict, ids: Ids) -> dict[str, list[str]]:
    """Every bulk row of one tenant as COPY text lines, by table (deterministic in (SEED, index))."""
    rng = random.Random(SEED * 1000 + index)
    tid = t["id"]
    rows: dict[str, list[str]] = {k: [] for k in ("stores", "users", "user_stores", "field_definitions", "customers",
                                                  "customer_identities", "assets", "asset_ownerships",
                                                  "interactions", "tasks")}
    created = _ts(NOW - timedelta(days=900))
    n_stores = 1 + size // 20000
    store_ids = [t["store"]]
    first_store = ids.take("stores", n_stores)
    for k in range(n_stores):
        sid = first_store + k
        store_ids.append(sid)
        rows["stores"].append(f"{tid}\t{sid}\tS{k + 2:03d}\t{rng.choice(CITIES)}{k + 2}号店\t{rng.choice(CITIES)}\tt\t"
                              f"{created}\t{created}\n")
    n_users = 2 + size // 5000
    first_user = ids.take("users", n_users)
    user_ids = [t["owner"]] + [first_user + k for k in range(n_users)]
    for k in range(n_users):
        uid = first_user + k
        rows["users"].append(f"{tid}\t{uid}\tstaff{k}@{t['slug']}.bench\t顾问{k}\t{t['password_hash']}\t"
                             f"{t['roles']['advisor']}\tt\t0\t{created}\t{created}\n")
        rows["user_stores"].append(f"{tid}\t{uid}\t{store_ids[k % len(store_ids)]}\n")
    fd = ids.take("field_definitions", 2)
    options = "{" + ",".join(BRANDS) + "}"
    rows["field_definitions"].append(f"{tid}\t{fd}\tcustomer\tcar_brand\t车辆品牌\tCar brand\tselect\tf\t{options}\t"
                                     f"10\t{{}}\tf\t{created}\t{created}\n")
    rows["field_definitions"].append(f"{tid}\t{fd + 1}\tcustomer\tbudget\t预算\tBudget\tmoney\tf\t{{}}\t20\t{{}}\tf\t"
                                     f"{created}\t{created}\n")
    first_c = ids.take("customers", size)
    first_a = ids.take("assets", size)
    first_o = ids.take("asset_ownerships", size)
    n_identities = size + 2 * ((size + 3) // 4)
    first_i = ids.take("customer_identities", n_identities)
    first_x = ids.take("interactions", size * 5)
    n_tasks = (size + 4) // 5
    first_t = ids.take("tasks", n_tasks)
    next_identity, next_task = first_i, first_t
    for k in range(size):
        cid, aid = first_c + k, first_a + k
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        mobile = f"+861{rng.choice('3456789')}{(cid * 7919) % 10**9:09d}"
        store = store_ids[k % len(store_ids)]
        born = NOW.date() - timedelta(days=rng.randint(20 * 365, 60 * 365))
        tags = [tag for tag in TAGS if rng.random() < 0.12]
        custom = {"car_brand": rng.choice(BRANDS), "budget": f"{rng.randint(5, 300) * 100}.00"}
        at = NOW - timedelta(minutes=rng.randint(0, 900 * 24 * 60))
        rows["customers"].append(
            f"{tid}\t{cid}\t{name}\t{mobile}\t\\N\t{rng.choice('MF')}\t{born}\t{rng.choice(CITIES)}\t\\N\t"
            f"{rng.choice(SOURCES)}\t\\N\t{store}\t{rng.choice(user_ids)}\t\\N\t{_ts(at)}\t{_ts(at)}\t\\N\tperson\t\\N\t"
            f"active\t{'VIP' if 'VIP' in tags else chr(92) + 'N'}\t{{{','.join(tags)}}}\t{{}}\t"
            f"{json.dumps(custom, ensure_ascii=False)}\n")
        rows["customer_identities"].append(f"{tid}\t{next_identity}\t{cid}\tmobile\t{mobile}\tt\t{_ts(at)}\t\\N\n")
        next_identity += 1
        vehicle = k % 2 == 0
        rows["assets"].append(
            f"{tid}\t{aid}\t{cid}\t{'vehicle' if vehicle else 'device'}\t"
            f"{rng.choice(BRANDS) if vehicle else rng.choice(DEVICES)}\t{store}\t{(at.date())}\t{(at.date())}\t"
            f"{at.date() + timedelta(days=730)}\t{{}}\t\\N\t\\N\t{_ts(at)}\t{_ts(at)}\t{{}}\n")
        rows["asset_ownerships"].append(f"{tid}\t{first_o + k}\t{aid}\t{cid}\t{_ts(at)}\t\\N\t\\N\n")
        if k % 4 == 0:
            rows["customer_identities"].append(f"{tid}\t{next_identity}\t{cid}\tvin\t{vin(rng)}\tf\t{_ts(at)}\t{aid}\n")
            next_identity += 1
        if k % 4 == 2:
            rest = cid // len(PROVINCES)  # one plate per customer id: province, letter, five digits
            plate = f"{PROVINCES[cid % len(PROVINCES)]}{PLATE_LETTERS[rest % 24]}{(rest // 24) % 100000:05d}"
            rows["customer_identities"].append(f"{tid}\t{next_identity}\t{cid}\tplate\t{plate}\tf\t{_ts(at)}\t{aid}\n")
            next_identity += 1
        for e in range(5):
            kind = KINDS[(k + e) % 4]
            when = at + timedelta(days=e * 37, minutes=rng.randint(0, 600))
            rows["interactions"].append(f"{tid}\t{first_x + k * 5 + e}\t{cid}\t{rng.choice(user_ids)}\t{kind}\t"
                                        f"{BODIES[kind]}\t{_ts(when)}\n")
        if k % 5 == 0:
            status = "open" if rng.random() < 0.3 else "done"
            due = NOW + timedelta(days=rng.randint(-30, 30))
            rows["tasks"].append(f"{tid}\t{next_task}\t回访：{name}\t\\N\t{_ts(due)}\t{rng.choice(user_ids)}\t{cid}\t"
                                 f"\\N\t\\N\tnormal\t{status}\t\\N\t{t['owner']}\t{_ts(at)}\t{_ts(at)}\n")
            next_task += 1
    # identity ids were reserved for the most a tenant may need; unused ones are simply skipped
    return rows


COLUMNS = {
    "stores": "tenant_id, id, code, name, city, active, created_at, updated_at",
    "users": "tenant_id, id, email, display_name, password_hash, role_id, active, auth_epoch, created_at, updated_at",
    "user_stores": "tenant_id, user_id, store_id",
    "field_definitions": "tenant_id, id, entity, code, label_zh, label_en, type, required, options, position, "
                         "visible_roles, archived, created_at, updated_at",
    "customers": "tenant_id, id, name, mobile, email, gender, birthday, city, address, source, notes, store_id, "
                 "owner_id, deleted_at, created_at, updated_at, merged_into_id, kind, contact_name, status, level, "
                 "tags, consents, custom",
    "customer_identities": "tenant_id, id, customer_id, kind, value, \"primary\", created_at, asset_id",
    "assets": "tenant_id, id, customer_id, type, name, store_id, purchased_on, installed_on, warranty_until, "
              "attributes, notes, deleted_at, created_at, updated_at, custom",
    "asset_ownerships": "tenant_id, id, asset_id, customer_id, since, until, note",
    "interactions": "tenant_id, id, customer_id, user_id, kind, body, occurred_at",
    "tasks": "tenant_id, id, title, notes, due_at, assignee_id, customer_id, related_type, related_id, priority, "
             "status, done_at, created_by_id, created_at, updated_at",
}
ORDER = ["stores", "users", "user_stores", "field_definitions", "customers", "assets", "asset_ownerships",
         "customer_identities", "interactions", "tasks"]


def load(database: str, indexes: list[int], sizes: list[int]) -> dict:
    import psycopg2

    env = benchenv.start(database)
    admin = psycopg2.connect(env["STORECRM_EMBEDDED_ADMIN_URL"])
    admin.autocommit = True
    with admin.cursor() as cur:  # always from scratch: the data is a function of the scale and the seed
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.close()
    env = benchenv.start(database)
    subprocess.run([benchenv.python(), "-m", "flask", "--app", "storecrm.wsgi:app", "db", "upgrade"],
                   env=benchenv.app_env(env), check=True, cwd=benchenv.ROOT, stdout=subprocess.DEVNULL)
    tenants = make_tenants(env, indexes)
    app_conn = psycopg2.connect(env["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    owner_conn = psycopg2.connect(env["DATABASE_OWNER_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    owner_conn.autocommit = True
    # what is loaded already, and the highest ids, are read by the system role (BYPASSRLS), as operators do
    system_conn = psycopg2.connect(env["DATABASE_SYSTEM_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    with system_conn.cursor() as cur:
        cur.execute("SELECT DISTINCT tenant_id FROM customers")
        loaded = {row[0] for row in cur.fetchall()}
    ids = Ids(system_conn, [t for t in ORDER if t != "user_stores"])
    system_conn.close()
    counts = {table: 0 for table in ORDER}
    started = time.time()
    for index in indexes:
        t = tenants[index]
        if t["id"] in loaded:
            continue
        rows = tenant_rows(index, sizes[index], t, ids)
        with app_conn, app_conn.cursor() as cur:
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(t["id"]),))
            for table in ORDER:
                if rows[table]:
                    # PostgreSQL refuses COPY into a table under row-level security, so COPY fills a temporary
                    # twin and one INSERT … SELECT moves the rows in, checked by RLS and every constraint
                    cur.execute(f"CREATE TEMP TABLE stage_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
                    cur.copy_expert(f"COPY stage_{table} ({COLUMNS[table]}) FROM STDIN", Rows(iter(rows[table])))
                    cur.execute(f"INSERT INTO {table} ({COLUMNS[table]}) SELECT {COLUMNS[table]} FROM stage_{table}")
                    counts[table] += len(rows[table])
        if index % 50 == 0:
            print(f"  {database}: tenant {index} ({sizes[index]} customers), {time.time() - started:.0f} s", flush=True)
    with owner_conn.cursor() as cur:
        for table in ORDER:
            if table != "user_stores":
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        cur.execute("ANALYZE")
    app_conn.close()
    owner_conn.close()
    return {"tenants": len(indexes), "rows": counts, "seconds": round(time.time() - started, 1),
            "largest": tenants[indexes[0]]["slug"], "probe": tenants[plan(benchenv.scale())[1]]["slug"]}


def main() -> None:
    sizes, probe = plan(benchenv.scale())
    print(f"scale {benchenv.scale()}: {len(sizes)} tenants, {sum(sizes)} customers, largest {sizes[0]}, "
          f"probe tenant #{probe} with {sizes[probe]}", flush=True)
    summary = {"scale": benchenv.scale(), "sizes": {"largest": sizes[0], "probe": sizes[probe]}}
    summary[benchenv.BIG_DB] = load(benchenv.BIG_DB, list(range(len(sizes))), sizes)
    small = [probe] + [i for i in range(len(sizes) - 9, len(sizes))]  # the probe plus nine small chains
    summary[benchenv.SMALL_DB] = load(benchenv.SMALL_DB, sorted(set(small), key=small.index), sizes)
    (benchenv.VAR / "bench-data.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    try:
        main()
    finally:
        benchenv.stop()
