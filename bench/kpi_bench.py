"""K1 — the core KPIs over the benchmark database (`make bench-data`), product path vs hand-written SQL.

For each core KPI whose records the benchmark data has (customers, interactions, tasks), in the largest tenant, over
the current month in the tenant's zone:

- ours: `storecrm.reports.engine.evaluate([kpi], scope, compare=False)` — building the KPI's one statement from its
  definition, scoped to the viewer, and running it — as the owner (all stores) and as a store-limited viewer;
- the baseline: the same number written by hand as one SQL statement, run through psycopg2 as the application role
  with the tenant set (RLS on, as the product runs);
- EXPLAIN (ANALYZE) of the product's statement: whether it reads customers, interactions or tasks by a sequential
  scan (the target is index-backed plans).

Medians of 7 runs (31 for statements under 20 ms) after a warm-up; the two values must be equal. Writes bench/results/kpis.json and prints a table.
`BENCH_SCALE` must match the one the data was made with (see bench/README.md).
"""
from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import benchenv

RESULTS = Path(__file__).resolve().parent / "results"
BIG = ("customers", "interactions", "tasks")

HAND = {
    "customers.new": "SELECT count(*) FROM customers WHERE tenant_id = %(t)s AND deleted_at IS NULL "
                     "AND created_at >= %(start)s AND created_at < %(end)s {stores}",
    "customers.active": "SELECT count(*) FROM customers c WHERE c.tenant_id = %(t)s AND c.deleted_at IS NULL {cstores} "
                        "AND EXISTS (SELECT 1 FROM interactions i WHERE i.tenant_id = %(t)s AND i.customer_id = c.id "
                        "AND i.occurred_at >= %(start)s AND i.occurred_at < %(end)s)",
    "customers.dormant": "SELECT count(*) FROM customers c WHERE c.tenant_id = %(t)s AND c.deleted_at IS NULL {cstores} "
                         "AND c.created_at < %(cutoff)s AND NOT EXISTS (SELECT 1 FROM interactions i WHERE "
                         "i.tenant_id = %(t)s AND i.customer_id = c.id AND i.occurred_at >= %(cutoff)s "
                         "AND i.occurred_at < %(as_of)s)",
    "tasks.follow_up_completion": "SELECT round(count(*) FILTER (WHERE status = 'done') * 100.0 / "
                                  "nullif(count(*), 0), 1) FROM tasks WHERE tenant_id = %(t)s "
                                  "AND customer_id IS NOT NULL AND status <> 'cancelled' AND due_at >= %(start)s "
                                  "AND due_at < %(end)s",
    "tasks.overdue": "SELECT count(*) FROM tasks WHERE tenant_id = %(t)s AND due_at < %(as_of)s "
                     "AND (status = 'open' OR (status = 'done' AND done_at > %(as_of)s))",
}


def median(fn, runs=7):
    started = time.perf_counter()
    fn()  # warm-up
    if time.perf_counter() - started < 0.02:
        runs = 31  # a few milliseconds: seven runs on a shared machine are mostly noise
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(sorted(times)[len(times) // 2], 3)


def main() -> None:
    import psycopg2
    from sqlalchemy import select, text

    env = benchenv.start(benchenv.BIG_DB)
    os.environ.update(benchenv.app_env(env))
    from storecrm.app import create_app
    from storecrm.extensions import db
    from storecrm.reports import engine
    from storecrm.reports.core_kpis import DORMANT_DAYS
    from storecrm.reports.periods import period_of
    from storecrm.stores.models import Store
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import Tenant
    from storecrm.tenancy.scoping import unscoped
    from storecrm.users.models import User

    app = create_app()
    conn = psycopg2.connect(env["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    out = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "scale": benchenv.scale(),
           "cpus": os.cpu_count(), "kpis": {}}
    with app.app_context():
        with unscoped(reason="benchmark: the largest tenant") as system:
            tenant = system.scalar(select(Tenant).where(Tenant.slug == "chain0000"))
        with tenant_context(TenantRef(tenant.id, tenant.slug)):
            out["customers_in_tenant"] = db.session.scalar(text("SELECT count(*) FROM customers"))
            out["interactions_in_tenant"] = db.session.scalar(text("SELECT count(*) FROM interactions"))
            out["tasks_in_tenant"] = db.session.scalar(text("SELECT count(*) FROM tasks"))
            owner = db.session.scalar(select(User).order_by(User.id))
            first_store = db.session.scalar(select(Store.id).order_by(Store.id))
            # a store manager's view: one store, no HQ rights (the scope the engine puts inside the SQL)
            limited = SimpleNamespace(id=-1, sees_all_stores=False, store_ids=[first_store],
                                      has_permission=lambda code: True, role=owner.role, role_id=owner.role_id)
            period = period_of("month")
            kpis = {k.code: k for k in engine.kpis_for(owner, engine_only=True) if k.code in HAND}
            for code, kpi in kpis.items():
                row = {}
                for who, user in (("owner", owner), ("one_store", limited)):
                    scope = engine.scope_for(user, period)
                    value = engine.evaluate([kpi], scope, compare=False)[code].value
                    row[f"{who}_value"] = str(value)
                    row[f"{who}_ms"] = median(lambda: engine.evaluate([kpi], scope, compare=False))
                    # the SQL `evaluate` sends, with its parameters (compiled once per shape and reused)
                    compiled, bound = engine.value_statement(kpi, scope)
                    with conn.cursor() as cur:
                        cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
                        cur.execute("EXPLAIN (ANALYZE) " + str(compiled), bound)
                        plan = [r[0] for r in cur.fetchall()]
                    conn.rollback()
                    row[f"{who}_seq_scans"] = sorted({t for t in BIG for line in plan if f"Seq Scan on {t}" in line})
                    row[f"{who}_plan"] = plan
                    stores = "" if who == "owner" else f"AND store_id = {int(first_store)}"
                    sql = HAND[code].format(stores=stores, cstores=stores.replace("store_id", "c.store_id"))
                    params = {"t": tenant.id, "start": scope.start, "end": scope.end, "as_of": scope.as_of,
                              "cutoff": scope.as_of - timedelta(days=DORMANT_DAYS)}
                    if code.startswith("tasks.") and who == "one_store":
                        continue  # tasks are scoped by their customer's store or assignee: no one-line equivalent

                    def raw():
                        with conn.cursor() as cur:
                            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
                            cur.execute(sql, params)
                            result = cur.fetchone()[0]
                        conn.rollback()
                        return result

                    row[f"{who}_hand_value"] = str(raw())
                    row[f"{who}_hand_ms"] = median(raw)
                    row[f"{who}_ratio"] = round(row[f"{who}_ms"] / row[f"{who}_hand_ms"], 2)

                    def ours_sql():  # the product's statement alone, through the same raw connection
                        with conn.cursor() as cur:
                            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
                            cur.execute(str(compiled), bound)
                            cur.fetchall()
                        conn.rollback()

                    row[f"{who}_sql_ms"] = median(ours_sql)
                    row[f"{who}_sql_ratio"] = round(row[f"{who}_sql_ms"] / row[f"{who}_hand_ms"], 2)
                out["kpis"][code] = row
            db.session.rollback()
    conn.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kpis.json").write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    print(f"K1 at scale {out['scale']}: largest tenant {out['customers_in_tenant']:,} customers, "
          f"{out['interactions_in_tenant']:,} interactions, {out['tasks_in_tenant']:,} tasks")
    print("| KPI | viewer | ours ms (end to end) | our SQL ms | hand SQL ms | ratio end to end | ratio SQL | values equal "
          "| seq scans on big tables |")
    print("|---|---|---|---|---|---|---|---|---|")
    for code, row in out["kpis"].items():
        for who in ("owner", "one_store"):
            if f"{who}_ms" not in row:
                continue
            hand = row.get(f"{who}_hand_ms", "–")
            equal = row.get(f"{who}_hand_value", "–") == row[f"{who}_value"] if f"{who}_hand_value" in row else "–"
            print(f"| {code} | {who} | {row[f'{who}_ms']} | {row.get(f'{who}_sql_ms', '–')} | {hand} | "
                  f"{row.get(f'{who}_ratio', '–')} | {row.get(f'{who}_sql_ratio', '–')} | {equal} | "
                  f"{', '.join(row[f'{who}_seq_scans']) or 'none'} |")


if __name__ == "__main__":
    try:
        main()
    finally:
        benchenv.stop()
