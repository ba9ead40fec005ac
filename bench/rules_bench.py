"""E1 — a date rule over 1,000,000 assets of one tenant ("365 days after installation, cars only").

Builds its own database in the benchmark cluster (var/bench-pg, `storecrm_bench_rules`): one tenant made by the
product's `create_tenant`, 20,000 customers and 1,000,000 assets installed evenly over the last 2,000 days (about
500 a day), loaded as the application role under RLS; a second tenant with 100,000 assets shows the other tenant is
never read. Then, in the product:

- the plan and time of the sweep's claim — the one `INSERT … SELECT … ON CONFLICT DO NOTHING` that finds and claims
  every asset due today (EXPLAIN ANALYZE, rolled back);
- the whole sweep (claim + one task per asset for its owner) through `storecrm.rules.engine.sweep`;
- the baseline: the same selection as one raw SQL statement through psycopg2 as the app role.

Writes bench/results/engines.json and prints a summary. `make bench-rules`; about a minute after the load.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import benchenv

DB = "storecrm_bench_rules"
ASSETS, CUSTOMERS, DAYS = 1_000_000, 20_000, 2_000
RESULTS = Path(__file__).resolve().parent / "results"


def _load(env) -> dict:
    import psycopg2

    os.environ.update(benchenv.app_env(env))
    from sqlalchemy import select

    from storecrm.app import create_app
    from storecrm.extensions import db
    from storecrm.stores.models import Store
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.tenancy.models import Tenant
    from storecrm.tenancy.scoping import unscoped
    from storecrm.workspace.services import create_tenant
    from storecrm.users.models import User

    app = create_app()
    tenants = {}
    with app.app_context():
        for slug, assets in (("rules1m", ASSETS), ("neighbour", ASSETS // 10)):
            with unscoped(reason="benchmark data: find tenant") as system:
                tid = system.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if tid is None:
                create_tenant(slug=slug, name=slug, owner={"display_name": "店长", "email": f"owner@{slug}.bench",
                                                            "password": benchenv.PASSWORD})
                with unscoped(reason="benchmark data: read tenant id") as system:
                    tid = system.scalar(select(Tenant.id).where(Tenant.slug == slug))
            with tenant_context(TenantRef(tid, slug)):
                store = db.session.scalar(select(Store.id).order_by(Store.id))
                owner = db.session.scalar(select(User.id).order_by(User.id))
            db.session.remove()
            tenants[slug] = {"id": tid, "store": store, "owner": owner, "assets": assets}
    conn = psycopg2.connect(env["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    started = time.time()
    for slug, t in tenants.items():
        with conn, conn.cursor() as cur:
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(t["id"]),))
            cur.execute("SELECT count(*) FROM assets")
            if cur.fetchone()[0] >= t["assets"]:
                continue
            n_customers = CUSTOMERS if slug == "rules1m" else CUSTOMERS // 10
            cur.execute("""INSERT INTO customers (tenant_id, id, kind, name, status, tags, consents, custom, store_id,
                               owner_id, created_at, updated_at)
                           SELECT %(t)s, nextval(pg_get_serial_sequence('customers', 'id')), 'person', '客户' || g,
                                  'active', '{}', '{}', '{}', %(store)s, %(owner)s, now(), now()
                           FROM generate_series(1, %(n)s) g""", {"t": t["id"], "store": t["store"], "owner": t["owner"],
                                                              "n": n_customers})
            cur.execute("SELECT min(id) FROM customers")
            first = cur.fetchone()[0]  # the customers above were numbered consecutively by one statement
            cur.execute("""INSERT INTO assets (tenant_id, id, customer_id, type, name, store_id, installed_on,
                               attributes, custom, created_at, updated_at)
                           SELECT %(t)s, nextval(pg_get_serial_sequence('assets', 'id')), %(first)s + g %% %(c)s,
                                  CASE WHEN g %% 10 = 0 THEN 'device' ELSE 'vehicle' END, '车辆 ' || g, %(store)s,
                                  current_date - (g %% %(days)s)::int, '{}', '{}', now(), now()
                           FROM generate_series(1, %(n)s) g""",
                        {"t": t["id"], "store": t["store"], "n": t["assets"], "days": DAYS, "c": n_customers,
                         "first": first})
    owner = psycopg2.connect(env["DATABASE_OWNER_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    owner.autocommit = True
    with owner.cursor() as cur:
        cur.execute("ANALYZE")
    owner.close()
    conn.close()
    return {"tenants": tenants, "load_seconds": round(time.time() - started, 1)}


def _measure(env, tenants) -> dict:
    import psycopg2
    from sqlalchemy import text

    from storecrm.app import create_app
    from storecrm.extensions import db
    from storecrm.rules import engine
    from storecrm.rules.models import Rule
    from storecrm.tenancy.context import TenantRef, tenant_context

    app = create_app()
    t = tenants["rules1m"]
    out = {}
    with app.app_context(), tenant_context(TenantRef(t["id"], "rules1m")):
        db.session.execute(text("DELETE FROM rule_firings"))
        db.session.execute(text("DELETE FROM tasks"))
        db.session.execute(text("DELETE FROM rules"))
        rule = engine.save(None, {"name": "周年检", "entity": "asset", "enabled": True, "run_hour": 0,
                                  "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
                                  "conditions": {"field": "type", "op": "eq", "value": "vehicle"},
                                  "actions": [{"type": "create_task", "to": "owner", "title": "周年检 {name}",
                                               "due_in_days": 3}]})
        db.session.commit()
        today = engine.local_today()
        out["assets_in_tenant"] = db.session.scalar(text("SELECT count(*) FROM assets"))
        compiled = engine.claim_statement(rule, today, today).compile(dialect=db.engine.dialect,
                                                                     compile_kwargs={"literal_binds": True})
        plan = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled))).scalars().all()
        db.session.rollback()
        out["plan"] = plan
        out["claim_explain_ms"] = float(plan[-1].split(":")[1].split()[0])
        out["seq_scan_on_assets"] = any("Seq Scan on assets" in line for line in plan)
        started = time.perf_counter()
        fired = engine.sweep(db.session.get(Rule, (t["id"], rule.id)), today)
        db.session.commit()
        out["sweep_seconds"] = round(time.perf_counter() - started, 3)
        out["fired"] = fired
        out["tasks"] = db.session.scalar(text("SELECT count(*) FROM tasks"))
        started = time.perf_counter()
        again = engine.sweep(db.session.get(Rule, (t["id"], rule.id)), today)
        db.session.commit()
        out["second_sweep_seconds"] = round(time.perf_counter() - started, 3)
        out["second_sweep_fired"] = again
        out["firings"] = db.session.scalar(text("SELECT count(*) FROM rule_firings"))
    conn = psycopg2.connect(env["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://"))
    target = today - timedelta(days=365)
    raw_claim = ("INSERT INTO rule_firings (tenant_id, rule_id, entity, record_id, customer_id, occurrence, status, "
                 "outcome, fired_at) SELECT tenant_id, %(rule)s, 'asset', id, customer_id, %(occ)s, 'claimed', '[]', "
                 "now() FROM assets WHERE installed_on = %(day)s AND type = 'vehicle' AND deleted_at IS NULL "
                 "LIMIT 1000 ON CONFLICT DO NOTHING RETURNING id, record_id, occurrence")

    def median(fn, runs=7):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
        return round(sorted(times)[len(times) // 2], 2)

    def raw(sql, params):
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(t["id"]),))
            cur.execute(sql, params)
            rows = cur.fetchall()
        conn.rollback()
        return rows

    with app.app_context(), tenant_context(TenantRef(t["id"], "rules1m")):
        fresh = engine.save(None, {"name": "同一规则", "entity": "asset", "enabled": True, "run_hour": 0,
                                   "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
                                   "conditions": {"field": "type", "op": "eq", "value": "vehicle"},
                                   "actions": [{"type": "add_tag", "tag": "x"}]})
        db.session.commit()
        rule_id = fresh.id

        def ours():
            rows = db.session.execute(engine.claim_statement(db.session.get(Rule, (t["id"], rule_id)), today,
                                                             today)).all()
            db.session.rollback()
            return rows

        out["claim_rows"] = len(ours())
        out["claim_ms"] = median(ours)
        out["raw_claim_ms"] = median(lambda: raw(raw_claim, {"rule": rule_id, "occ": today.isoformat(), "day": target}))
        out["raw_claim_rows"] = len(raw(raw_claim, {"rule": rule_id, "occ": today.isoformat(), "day": target}))
        out["raw_select_ms"] = median(lambda: raw("SELECT id, customer_id FROM assets WHERE installed_on = %(day)s "
                                                  "AND type = 'vehicle' AND deleted_at IS NULL", {"day": target}))
        out["claim_vs_raw_claim"] = round(out["claim_ms"] / out["raw_claim_ms"], 2)
        # what a Python loop would cost: load and evaluate 50,000 assets, scaled to the tenant's million
        from storecrm import conditions
        from storecrm.assets.models import Asset
        from sqlalchemy import select

        started = time.perf_counter()
        hits = 0
        for asset in db.session.scalars(select(Asset).order_by(Asset.id).limit(50_000)):
            if asset.installed_on == target and conditions.evaluate("asset", fresh.conditions, asset):
                hits += 1
        out["python_loop_estimate_s"] = round((time.perf_counter() - started) * out["assets_in_tenant"] / 50_000, 1)
        db.session.rollback()
    conn.close()
    return out


def main() -> None:
    env = benchenv.start(DB)
    subprocess.run([benchenv.python(), "-m", "flask", "--app", "storecrm.wsgi:app", "db", "upgrade"],
                   env=benchenv.app_env(env), check=True, cwd=benchenv.ROOT, stdout=subprocess.DEVNULL)
    loaded = _load(env)
    result = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": loaded,
              "e1": _measure(env, loaded["tenants"])}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engines.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    e1 = result["e1"]
    print(f"E1: {e1['assets_in_tenant']:,} assets; claim of {e1['claim_rows']} due: {e1['claim_ms']} ms, hand-written "
          f"SQL {e1['raw_claim_ms']} ms (ratio {e1['claim_vs_raw_claim']}; plain SELECT {e1['raw_select_ms']} ms); "
          f"Python loop ≈ {e1['python_loop_estimate_s']} s; seq scan on assets: {e1['seq_scan_on_assets']}; whole sweep "
          f"{e1['sweep_seconds']} s for {e1['fired']} firings; second sweep {e1['second_sweep_seconds']} s, "
          f"fired {e1['second_sweep_fired']}")
    print("\n".join(e1["plan"]))


if __name__ == "__main__":
    try:
        main()
    finally:
        benchenv.stop()
