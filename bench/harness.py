"""`make bench`: every figure is a ratio against a baseline measured in the same run (see bench/README.md).

Starts StoreCRM under gunicorn in production settings against the generated databases, and the minimal Flask app
under the same gunicorn settings; drives both with bench/loadgen.py in a separate process; replays the exact SQL
an endpoint ran through raw psycopg2; writes bench/results/latest.json and latest.md.
"""
from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchenv  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BIG_TABLES = {"customers", "customer_identities", "assets", "asset_ownerships", "interactions", "tasks",
              "audit_entries"}
GUNICORN = ["-k", "gthread", "--workers", "2", "--threads", "4", "--keep-alive", "30", "--log-level", "warning"]
N_LATENCY = int(os.environ.get("BENCH_REQUESTS", "300"))
N_THROUGHPUT = int(os.environ.get("BENCH_THROUGHPUT_REQUESTS", "3000"))
B1_ROUNDS = int(os.environ.get("BENCH_B1_ROUNDS", "7"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app: str, env: dict, cwd: Path, ready_path: str):
        self.port = _free_port()
        self.proc = subprocess.Popen([benchenv.python(), "-m", "gunicorn", *GUNICORN, "--bind",
                                      f"127.0.0.1:{self.port}", app], env=env, cwd=cwd)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_until_answering(app, ready_path)

    def _wait_until_answering(self, app: str, path: str) -> None:
        """gunicorn listens before its workers have built the app (seconds for StoreCRM): the first measured
        requests would wait for that. Ready means every worker answered; a worker answers once booted."""
        import urllib.error
        import urllib.request

        deadline, answered = time.time() + 120, 0
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + path, timeout=5) as response:
                    answered += response.status < 500
            except urllib.error.HTTPError as err:
                answered += err.code < 500
            except OSError:
                time.sleep(0.3)
                continue
            if answered >= 20:  # new connections each: spread over both workers' threads
                return
        raise RuntimeError(f"{app} did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def load(url: str, *, requests: int, concurrency: int = 1, token: str | None = None) -> dict:
    args = [benchenv.python(), str(HERE / "loadgen.py"), url, "--requests", str(requests), "--concurrency",
            str(concurrency), "--warmup", str(max(100, concurrency * 50))]
    if token:
        args += ["--header", f"Authorization: Bearer {token}"]
    out = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    if out["errors"]:
        raise RuntimeError(f"{url}: {out['errors']} failed requests {out['statuses']}")
    return out


def psql_url(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://")


def migrate(env: dict) -> None:
    subprocess.run([benchenv.python(), "-m", "flask", "--app", "storecrm.wsgi:app", "db", "upgrade"],
                   env=benchenv.app_env(env), check=True, cwd=benchenv.ROOT, stdout=subprocess.DEVNULL)


def token_for(env: dict, slug: str) -> str:
    out = subprocess.run([benchenv.python(), "-m", "flask", "--app", "storecrm.wsgi:app", "tokens", "create",
                          "--tenant", slug, "--email", f"owner@{slug}.bench", "--name", "bench"],
                         env=benchenv.app_env(env), check=True, cwd=benchenv.ROOT, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def system_query(env: dict, sql: str, params=()):
    import psycopg2

    with psycopg2.connect(psql_url(env["DATABASE_SYSTEM_URL"])) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


class Capture:
    """Runs requests in-process against the big database and records the SQL each one sends."""

    def __init__(self, env: dict):
        os.environ.update(benchenv.app_env(env))
        from sqlalchemy import event

        from storecrm.app import create_app
        from storecrm.extensions import db

        self.app = create_app()
        with self.app.app_context():
            self.engine = db.engine
        self.statements: list | None = None

        @event.listens_for(self.engine, "before_cursor_execute")
        def _record(conn, cursor, statement, parameters, context, executemany):
            if self.statements is not None:
                self.statements.append((statement, parameters))

    def sql_of(self, path: str, token: str) -> list:
        client = self.app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(path, headers=headers).status_code == 200, path  # warm: token use, caches
        self.statements = []
        resp = client.get(path, headers=headers)
        statements, self.statements = self.statements, None
        assert resp.status_code == 200, (path, resp.status_code)
        return statements


class Replay:
    """The same statements through raw psycopg2, one transaction per round, as the app runs them."""

    def __init__(self, url: str, statements: list, *, skip_tenant_setting: bool = False):
        import psycopg2

        self.conn = psycopg2.connect(psql_url(url))
        self.statements = [(s, p) for s, p in statements
                           if not (skip_tenant_setting and "set_config('app.tenant_id'" in s)]

    def once(self) -> float:
        start = time.perf_counter()
        with self.conn.cursor() as cur:
            for statement, params in self.statements:
                cur.execute(statement, params)
                if cur.description:
                    cur.fetchall()
        self.conn.rollback()
        return time.perf_counter() - start

    def measure(self, n: int) -> dict:
        for _ in range(20):
            self.once()
        times = sorted(self.once() for _ in range(n))
        return {"p50_ms": round(statistics.median(times) * 1000, 3), "p95_ms": round(times[int(n * 0.95) - 1] * 1000, 3),
                "rps": round(n / sum(times), 1)}


def seq_scans(env: dict, statements: list, tenant_id: int) -> list[str]:
    """Tables among the big ones that a statement's plan reads with a sequential scan."""
    import psycopg2

    found = []
    with psycopg2.connect(psql_url(env["DATABASE_URL"])) as conn, conn.cursor() as cur:
        cur.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id),))
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT") or "set_config" in statement:
                continue
            cur.execute("EXPLAIN (FORMAT JSON) " + statement, params)
            stack = [cur.fetchone()[0][0]["Plan"]]
            while stack:
                node = stack.pop()
                if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
                    found.append(node["Relation Name"])
                stack += node.get("Plans", [])
        conn.rollback()
    return sorted(set(found))


def row(name, what, ours, baseline, ratio, target, passed, **extra):
    return {"name": name, "what": what, "ours": ours, "baseline": baseline, "ratio": round(ratio, 3),
            "target": target, "pass": bool(passed), **extra}


def main() -> None:
    summary = json.loads((benchenv.VAR / "bench-data.json").read_text())
    big, small = benchenv.start(benchenv.BIG_DB), benchenv.start(benchenv.SMALL_DB)
    migrate(big)
    migrate(small)
    largest, probe = summary[benchenv.BIG_DB]["largest"], summary[benchenv.BIG_DB]["probe"]
    tokens = {("big", largest): token_for(big, largest), ("big", probe): token_for(big, probe),
              ("small", probe): token_for(small, probe)}

    def tenant_of(env, slug):
        return system_query(env, "SELECT id FROM tenants WHERE slug = %s", (slug,))[0][0]

    big_tid, probe_big, probe_small = tenant_of(big, largest), tenant_of(big, probe), tenant_of(small, probe)
    # a customer with a full history in the largest chain; the first customer of the probe chain in both databases
    cid = system_query(big, "SELECT customer_id FROM tasks WHERE tenant_id = %s AND status = 'open' "
                            "ORDER BY customer_id LIMIT 1", (big_tid,))[0][0]
    probe_cid_big = system_query(big, "SELECT min(id) FROM customers WHERE tenant_id = %s", (probe_big,))[0][0]
    probe_cid_small = system_query(small, "SELECT min(id) FROM customers WHERE tenant_id = %s", (probe_small,))[0][0]
    ids = system_query(big, "SELECT id FROM customers WHERE tenant_id = %s ORDER BY id", (big_tid,))
    deep = ids[len(ids) // 10][0]  # keyset page 90% of the way down the newest-first list
    mobile, = system_query(big, "SELECT mobile FROM customers WHERE id = %s AND tenant_id = %s", (cid, big_tid))[0]
    plate = system_query(big, "SELECT value FROM customer_identities WHERE tenant_id = %s AND kind = 'plate' "
                              "ORDER BY id LIMIT 1 OFFSET 100", (big_tid,))[0][0]
    vin = system_query(big, "SELECT value FROM customer_identities WHERE tenant_id = %s AND kind = 'vin' "
                            "ORDER BY id LIMIT 1 OFFSET 100", (big_tid,))[0][0]
    paths = {
        "B1": "/api/v1/me",
        "B2": f"/api/v1/customers/{cid}/overview",
        "B3": f"/api/v1/customers?tag=VIP&cf=car_brand%3D%E5%AE%9D%E9%A9%AC&after_id={deep}&per_page=50",
        "B4 phone": f"/api/v1/customers?q={mobile[5:12]}&per_page=20",
        "B4 plate": f"/api/v1/customers?q={plate[1:6]}&per_page=20",
        "B4 VIN": f"/api/v1/customers?q={vin[3:11]}&per_page=20",
    }
    capture = Capture(big)
    sql = {name: capture.sql_of(path, tokens[("big", largest)]) for name, path in paths.items()}

    ours_big = Server("storecrm.wsgi:app", benchenv.app_env(big), benchenv.ROOT, "/healthz")
    baseline = Server("baseline_app:app", {**os.environ}, HERE, "/json")
    results = []
    try:
        token = tokens[("big", largest)]
        # B1: throughput of auth + tenant context + RLS setting + JSON against a bare Flask JSON endpoint
        # Rounds alternate the two sides and the median round's ratio counts: one pair of runs a few seconds long
        # swung from 0.38 to 0.59 on this 2-CPU VM with nothing else running (a neighbour's load hits one side only)
        rounds = []
        for _ in range(B1_ROUNDS):
            ours = load(ours_big.base + paths["B1"], requests=N_THROUGHPUT, concurrency=4, token=token)
            base = load(baseline.base + "/json", requests=N_THROUGHPUT, concurrency=4)
            rounds.append((ours["rps"] / base["rps"], ours, base))
        ratio, b1_ours, b1_base = sorted(rounds, key=lambda r: r[0])[len(rounds) // 2]
        results.append(row("B1 overhead", "authenticated API call with no business query, throughput "
                           f"(median of {B1_ROUNDS} alternating rounds)", b1_ours, b1_base, ratio, "≥ 0.5",
                           ratio >= 0.5, rounds=[round(r[0], 3) for r in rounds]))
        flask_p50 = load(baseline.base + "/json", requests=N_LATENCY)["p50_ms"]
        # B2–B4: latency against bare Flask + the same SQL through raw psycopg2
        for name, what in [("B2", "customer 360 API (profile, identities, assets, open tasks, 20 events)"),
                           ("B3", "customer list: tag + custom field filter, 50 rows, deep keyset page"),
                           ("B4 phone", "global search by partial phone"),
                           ("B4 plate", "global search by partial plate"),
                           ("B4 VIN", "global search by partial VIN")]:
            ours = load(ours_big.base + paths[name], requests=N_LATENCY, token=token)
            raw = Replay(big["DATABASE_URL"], sql[name]).measure(N_LATENCY)
            base = flask_p50 + raw["p50_ms"]
            extra = {"queries": len(sql[name])}
            passed = ours["p50_ms"] <= 1.5 * base
            if name != "B2":
                extra["seq_scans"] = seq_scans(big, sql[name], big_tid)
                passed = passed and not extra["seq_scans"]
            results.append(row(name, what, ours, {"flask_p50_ms": flask_p50, "raw_sql": raw, "sum_p50_ms": base},
                               ours["p50_ms"] / base, "≤ 1.5 × (Flask + raw SQL)" +
                               ("" if name == "B2" else ", no seq scan"), passed, **extra))
        # B5: the B2 statements under RLS (app role) vs bypassing it (system role, BYPASSRLS), throughput
        # in alternating rounds, the median round's ratio counting, as B1: measured one side after the other, the
        # ratio of the same statements moved from 0.83 to 0.98 between runs with nothing else changed
        rls_side = Replay(big["DATABASE_URL"], sql["B2"])
        bypass_side = Replay(big["DATABASE_SYSTEM_URL"], sql["B2"], skip_tenant_setting=True)
        b5_rounds = []
        for _ in range(B1_ROUNDS):
            rls, bypass = rls_side.measure(N_LATENCY), bypass_side.measure(N_LATENCY)
            b5_rounds.append((rls["rps"] / bypass["rps"], rls, bypass))
        ratio, rls, bypass = sorted(b5_rounds, key=lambda r: r[0])[len(b5_rounds) // 2]
        results.append(row("B5 RLS cost", f"B2's SQL with RLS enforced vs bypassed, throughput (median of "
                           f"{B1_ROUNDS} alternating rounds)", rls, bypass, ratio, "≥ 0.85", ratio >= 0.85,
                           rounds=[round(r[0], 3) for r in b5_rounds]))
        # B6: the probe chain's 360 with 1,000 tenants loaded vs 10
        b6_big = load(ours_big.base + f"/api/v1/customers/{probe_cid_big}/overview", requests=N_LATENCY,
                      token=tokens[("big", probe)])
    finally:
        ours_big.stop()
    ours_small = Server("storecrm.wsgi:app", benchenv.app_env(small), benchenv.ROOT, "/healthz")
    try:
        b6_small = load(ours_small.base + f"/api/v1/customers/{probe_cid_small}/overview", requests=N_LATENCY,
                        token=tokens[("small", probe)])
    finally:
        ours_small.stop()
        baseline.stop()
    n_big = system_query(big, "SELECT count(*) FROM tenants")[0][0]
    n_small = system_query(small, "SELECT count(*) FROM tenants")[0][0]
    results.append(row("B6 tenant count", f"B2 p50 of the same chain with {n_big} vs {n_small} tenants loaded",
                       b6_big, b6_small, b6_big["p50_ms"] / b6_small["p50_ms"], "≤ 1.2",
                       b6_big["p50_ms"] / b6_small["p50_ms"] <= 1.2))
    from import_bench import import_benchmark

    results.append(import_benchmark(small))
    write(results, summary)


def write(results: list, summary: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    machine = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
               "system": platform.platform(terse=True)}
    try:
        machine["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (ValueError, OSError):
        pass
    doc = {"ran_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine, "data": summary,
           "results": results}
    (RESULTS / "latest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    lines = [f"Ran {doc['ran_at']} on {machine.get('cpus')} CPUs / {machine.get('memory_gb', '?')} GB, "
             f"{machine['system']}, Python {machine['python']}; data scale {summary['scale']}.", "",
             "| benchmark | what | ours | baseline | ratio | target | result |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['what']} | {_figure(r['ours'])} | {_figure(r['baseline'])} | "
                     f"{r['ratio']} | {r['target']} | {'pass' if r['pass'] else '**miss**'} |")
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _figure(value) -> str:
    if not isinstance(value, dict):
        return str(value)
    if "sum_p50_ms" in value:
        return f"Flask {value['flask_p50_ms']} ms + SQL {value['raw_sql']['p50_ms']} ms = {value['sum_p50_ms']:.2f} ms"
    if "rows_per_s" in value:
        return f"{value['rows_per_s']} rows/s"
    return f"p50 {value.get('p50_ms')} ms, p95 {value.get('p95_ms')} ms, {value.get('rps')} req/s"


if __name__ == "__main__":
    try:
        main()
    finally:
        benchenv.stop()
