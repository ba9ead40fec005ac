"""B7: a customer import of an XLSX (validation, One-ID upsert, audit) against openpyxl's read-only parse of the
same file. Runs in its own process, in a fresh tenant of the small database that is removed afterwards."""
from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchenv  # noqa: E402


def rows_wanted() -> int:
    return int(os.environ.get("BENCH_IMPORT_ROWS") or max(1000, round(100_000 * benchenv.scale())))


def workbook(n: int) -> bytes:
    from openpyxl import Workbook

    from datagen import CITIES, GIVEN, SOURCES, SURNAMES, vin

    rng = random.Random(7)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["姓名", "手机", "性别", "生日", "城市", "车牌", "车架号", "来源", "标签"])
    for i in range(n):
        plate = f"沪B{i:05d}" if i % 3 == 0 and i < 100000 else ""
        sheet.append([rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), f"13{i % 10}{i:08d}",
                      rng.choice(["男", "女"]), f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                      rng.choice(CITIES), plate, vin(rng) if i % 5 == 0 else "", rng.choice(SOURCES),
                      "VIP" if i % 10 == 0 else ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def openpyxl_parse(data: bytes) -> tuple[int, float]:
    from openpyxl import load_workbook

    start = time.perf_counter()
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = sum(1 for row in book.active.iter_rows(values_only=True) if any(row)) - 1
    book.close()
    return n, time.perf_counter() - start


def ours(data: bytes) -> tuple[dict, float]:
    import logging

    from sqlalchemy import select

    from storecrm.app import create_app
    from storecrm.extensions import db
    from storecrm.imports import services
    from storecrm.tenancy.context import tenant_context
    from storecrm.workspace.services import create_tenant
    from storecrm.users.models import User

    app = create_app()
    logging.getLogger("storecrm").setLevel(logging.ERROR)
    slug = f"import{int(time.time())}"
    with app.app_context():
        tenant = create_tenant(slug=slug, name="导入测试", owner={"display_name": "店长", "email": f"owner@{slug}.bench",
                                                            "password": benchenv.PASSWORD})
        try:
            with tenant_context(tenant):
                user = db.session.scalar(select(User))
                run = services.create_run(user, "customers.xlsx", data)
                services.set_mapping(user, run, run.mapping, user.store_ids[0])
                services.start(user, run)  # what the preview's button does (it also queues the job: nobody runs it)
                db.session.commit()
                start = time.perf_counter()
                services.process(run.id)  # the job body, as the worker runs it
                seconds = time.perf_counter() - start
                db.session.refresh(run)
                counts = {"created": run.created_count, "updated": run.updated_count, "failed": run.failed_count,
                          "conflicts": run.conflict_count, "skipped": run.skipped_count}
                db.session.commit()
        finally:
            from storecrm.files.storage import storage
            from storecrm.tenancy.scoping import unscoped
            from storecrm.tenancy.models import Tenant

            with unscoped(reason="benchmark: remove the import tenant") as system:
                system.execute(Tenant.__table__.delete().where(Tenant.id == tenant.id))
            storage().delete_prefix(str(tenant.id))
    return counts, seconds


def import_benchmark(env: dict) -> dict:
    """Run this module in a child process against `env`'s database; return the result row."""
    out = subprocess.run([benchenv.python(), __file__], env=benchenv.app_env(env), capture_output=True, text=True,
                         cwd=benchenv.ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = rows_wanted()
    data = workbook(n)
    parsed, parse_s = openpyxl_parse(data)
    counts, import_s = ours(data)
    if sum(counts.values()) < n:
        raise RuntimeError(f"the import handled fewer rows than the file has: {counts} of {n}")
    ours_rate, base_rate = n / import_s, parsed / parse_s
    print(json.dumps({
        "name": "B7 import", "what": f"{n:,}-row XLSX import (validation, One-ID upsert) vs openpyxl read-only parse",
        "ours": {"rows_per_s": round(ours_rate, 1), "seconds": round(import_s, 1), **counts},
        "baseline": {"rows_per_s": round(base_rate, 1), "seconds": round(parse_s, 2)},
        "ratio": round(ours_rate / base_rate, 4), "target": "≥ 0.2", "pass": ours_rate / base_rate >= 0.2}))


if __name__ == "__main__":
    main()
