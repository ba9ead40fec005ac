"""An import never folds one person into another: rows whose details point at different customers, or at a customer
whose name is someone else's, are conflicts that write nothing; the preview says per row what the job will do; dates
come in the forms Chinese spreadsheets hold them; every reason is in the user's language."""
import random
import re
from datetime import date, datetime

from sqlalchemy import text

from tests.test_imports import _import, _workbook

HEADERS = ["客户姓名", "手机号", "车架号", "客户等级", "生日", "门店"]
HER_VIN = "LSVAA4182E2184847"
OTHER_VIN = "LFV2A21K0A3041982"


def _zh(world, in_tenant, role="owner"):
    from storecrm.extensions import db
    from storecrm.users.models import User

    with in_tenant(world):
        db.session.get(User, (world.id, world.users[role])).locale = "zh_CN"


def _zou_haiyan(world, in_tenant):
    """邹海燕, a gold member whose car's VIN is on record."""
    from storecrm.customers import identities
    from storecrm.customers.services import create_customer
    from storecrm.extensions import db
    from storecrm.users.models import User

    with in_tenant(world):
        owner = db.session.get(User, (world.id, world.users["owner"]))
        her = create_customer(owner, {"name": "邹海燕", "store_id": world.stores[0], "mobile": "+8613911112222",
                                      "level": "金卡"})
        identities.add(her, "vin", HER_VIN)
        return her.id


def _counts(system_db):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT created_count, updated_count, failed_count, conflict_count, skipped_count "
                                 "FROM import_runs ORDER BY id DESC LIMIT 1")).one()._asdict()


def test_a_row_whose_vin_is_another_persons_car_is_a_conflict_and_writes_nothing(
        two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    her = _zou_haiyan(alpha, in_tenant)
    _zh(alpha, in_tenant)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    rows = [["钱多多", "13833334444", HER_VIN, "普通", "", "S1"],       # his phone, her car's VIN
            ["邹海燕", "139 1111 2222", "", "银卡", "1985/5/3", "S1"]]  # her own row
    run_url = _import(b, _workbook(rows, HEADERS))
    assert _counts(system_db) == {"created_count": 0, "updated_count": 1, "failed_count": 0, "conflict_count": 1,
                                  "skipped_count": 0}
    with system_db.connect() as conn:
        phones = conn.execute(text("SELECT value FROM customer_identities WHERE kind='mobile' AND customer_id=:c"),
                              {"c": her}).scalars().all()
        level, birthday = conn.execute(text("SELECT level, birthday FROM customers WHERE id=:c"), {"c": her}).one()
        nobody = conn.execute(text("SELECT count(*) FROM customers WHERE name='钱多多'")).scalar()
        kind, messages = conn.execute(text("SELECT kind, messages FROM import_row_errors")).one()
    assert phones == ["+8613911112222"]  # his phone was not added to her
    assert level == "金卡" and birthday == date(1985, 5, 3)  # her own row filled what was empty, kept her level
    assert nobody == 0
    assert kind == "conflict"
    reason = messages["_schema"][0]
    assert "邹海燕" in reason and "钱多多" in reason and "车架号" in reason and "没有导入" in reason, reason
    page = b.get(run_url).get_data(as_text=True)
    assert 'data-kind="conflict"' in page and "冲突" in page and 'data-testid="conflicts"' in page


def test_two_rows_of_one_file_with_one_vin_and_different_names_keep_the_second_out(
        two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    rows = [["钱多多", "13833334444", OTHER_VIN, "", "", "S1"],
            ["邹海燕", "13911112222", OTHER_VIN, "", "", "S1"],
            ["王先生", "13700001111", "", "", "", "S1"],
            ["王建国", "+86 137 0000 1111", "", "", "", "S1"]]  # 王先生 is how the first visit wrote him down
    _import(b, _workbook(rows, HEADERS))
    assert _counts(system_db) == {"created_count": 2, "updated_count": 1, "failed_count": 0, "conflict_count": 1,
                                  "skipped_count": 0}
    with system_db.connect() as conn:
        names = sorted(conn.execute(text("SELECT name FROM customers WHERE tenant_id=:t"), {"t": alpha.id}).scalars())
        row = conn.execute(text("SELECT row_number FROM import_row_errors WHERE kind='conflict'")).scalar()
    assert "邹海燕" not in names and {"钱多多", "王先生"} <= set(names)
    assert row == 3


def test_details_of_two_different_customers_on_one_row_are_a_conflict(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    _zou_haiyan(alpha, in_tenant)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    _import(b, _workbook([["钱多多", "13833334444", "", "", "", "S1"]], HEADERS))  # he exists now
    _import(b, _workbook([["钱多多", "13833334444", HER_VIN, "", "", "S1"]], HEADERS))
    assert _counts(system_db)["conflict_count"] == 1
    with system_db.connect() as conn:
        reason = conn.execute(text("SELECT messages FROM import_row_errors")).scalar()["_schema"][0]
    assert "different customers" in reason and "邹海燕" in reason and "钱多多" in reason


def test_the_preview_says_per_row_what_the_import_will_do_with_the_chosen_store(
        two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    _zou_haiyan(alpha, in_tenant)
    _zh(alpha, in_tenant)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    headers = ["客户姓名", "手机号", "车架号", "生日"]  # no store column: the store chosen on the page applies
    rows = [["钱多多", "13833334444", HER_VIN, ""], ["邹海燕", "13911112222", "", ""],
            ["李雷", "13800138000", "", "1985.3.12"], ["李雷", "138 0013 8000", "", ""],
            ["坏日期", "13800009997", "", "1990-13-45"]]
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token, "file": (__import__("io").BytesIO(
        _workbook(rows, headers)), "a.xlsx")}, content_type="multipart/form-data")
    page = b.get(resp.headers["Location"]).get_data(as_text=True)
    outcomes = dict(re.findall(r'data-row="(\d+)" data-outcome="(\w+)"', page))
    assert outcomes == {"2": "conflict", "3": "update", "4": "new", "5": "update", "6": "error"}
    assert "门店" not in re.search(r'data-row="4".*?</li>', page, re.S).group(0)  # no store error: the default applies
    row3 = re.search(r'data-row="3".*?</li>', page, re.S).group(0)
    assert "邹海燕" in row3 and "手机" in row3  # whom it updates, found by what
    assert "第 4 行" in re.search(r'data-row="5".*?</li>', page, re.S).group(0)  # the same person as an earlier row
    assert "不是有效的日期" in re.search(r'data-row="6".*?</li>', page, re.S).group(0)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name='李雷'")).scalar() == 0  # nothing written


def test_rows_unticked_on_the_preview_and_customers_left_alone_are_skipped(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    her = _zou_haiyan(alpha, in_tenant)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    rows = [["邹海燕", "13911112222", "", "", "1985/5/3", "S1"], ["李雷", "13800138000", "", "", "", "S1"],
            ["韩梅梅", "13800138001", "", "", "", "S1"]]
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token, "file": (__import__("io").BytesIO(
        _workbook(rows, HEADERS)), "a.xlsx")}, content_type="multipart/form-data")
    run_url = resp.headers["Location"]
    page = b.get(run_url).get_data(as_text=True)
    form = {m.group(1): m.group(2) for m in re.finditer(r'name="(col_\d+)">.*?<option value="([a-z_:]+)" selected',
                                                          page, flags=re.S)}
    store = re.search(r'name="default_store_id">\s*<option value="(\d+)"', page).group(1)
    from tests.test_imports import _run_worker

    started = b.client.post(run_url, data={**form, "csrf_token": b.token, "default_store_id": store, "start": "1",
                                           "update_existing": "0", "shown": ["2", "3", "4"], "keep": ["2", "3"]})
    assert started.status_code == 302
    _run_worker()
    assert _counts(system_db) == {"created_count": 1, "updated_count": 0, "failed_count": 0, "conflict_count": 0,
                                  "skipped_count": 2}
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT birthday FROM customers WHERE id=:c"), {"c": her}).scalar() is None
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name='韩梅梅'")).scalar() == 0


def test_a_real_sized_customer_file_gives_every_person_once_and_rejects_only_bad_rows_in_chinese(
        two_tenants, login, in_tenant, system_db):
    """The shape of the file that lost 618 of 1,600 people: birthdays in every form a Chinese spreadsheet holds
    them (text in five spellings, date cells, day numbers of a cell that lost its format), some people twice with
    the phone spelled differently, a few genuinely bad rows."""
    alpha, _ = two_tenants
    _zh(alpha, in_tenant)
    rng = random.Random(1600)
    people = [(f"客户{i:04d}", f"139{i:08d}", date(1950 + i % 50, 1 + i % 12, 1 + i % 28)) for i in range(400)]
    spellings = [lambda d: d.strftime("%Y/%m/%d"), lambda d: f"{d.year}/{d.month}/{d.day}",
                 lambda d: f"{d.year}-{d.month}-{d.day}", lambda d: f"{d.year}.{d.month}.{d.day}",
                 lambda d: f"{d.year}年{d.month}月{d.day}日", lambda d: datetime(d.year, d.month, d.day),
                 lambda d: (d - date(1899, 12, 30)).days, lambda d: d.isoformat()]
    phone = [lambda m: m, lambda m: f"{m[:3]} {m[3:7]} {m[7:]}", lambda m: f"+86 {m}", lambda m: int(m)]
    rows = [[name, phone[i % 4](mobile), "", "", spellings[i % len(spellings)](born), "S1"]
            for i, (name, mobile, born) in enumerate(people)]
    rows += [[name, phone[(i + 1) % 4](mobile), "", "", "", "S1"] for i, (name, mobile, _b) in enumerate(people[:60])]
    bad = [["", "13900009001", "", "", "", "S1"], ["坏电话", "12345", "", "", "", "S1"],
           ["坏日期", "13900009002", "", "", "1990-13-45", "S1"], ["坏日期二", "13900009003", "", "", "31/12/1990", "S1"],
           ["坏门店", "13900009004", "", "", "", "不存在的店"], ["坏车架号", "13900009005", HER_VIN[:-1] + "9", "", "", "S1"]]
    rows += bad
    rng.shuffle(rows)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    _import(b, _workbook(rows, HEADERS))
    assert _counts(system_db) == {"created_count": 400, "updated_count": 60, "failed_count": 6, "conflict_count": 0,
                                  "skipped_count": 0}
    with system_db.connect() as conn:
        born = dict(conn.execute(text("SELECT name, birthday FROM customers WHERE tenant_id=:t"),
                                 {"t": alpha.id}).all())
        reasons = [m for (messages,) in conn.execute(text("SELECT messages FROM import_row_errors"))
                   for msgs in messages.values() for m in msgs]
    assert all(born[name] == d for name, _m, d in people)  # every spelling read as the same day
    assert len(reasons) >= 6 and all(re.search(r"[\u4e00-\u9fff]", m) for m in reasons), reasons
