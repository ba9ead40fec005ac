"""BROKER_URL chooses the broker: RabbitMQ (amqp://) as well as Redis. The RabbitMQ test runs against the machine's
RabbitMQ service when one answers on localhost:5672 (RABBITMQ_URL overrides), and is skipped otherwise."""
import os
import socket
import threading
import uuid

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select

from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.jobs import broker_for
from storecrm.jobs.middleware import AppContextMiddleware, TenantMiddleware
from storecrm.tenancy.context import current_tenant_id, tenant_context

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _rabbitmq_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_the_url_scheme_chooses_the_broker():
    rabbit = broker_for("amqp://guest:guest@127.0.0.1:5672/%2F")
    redis = broker_for("redis://127.0.0.1:6399/0")
    assert isinstance(rabbit, RabbitmqBroker) and isinstance(redis, RedisBroker)
    for broker in (rabbit, redis):  # the same middleware either way: tenant carried, app context, one transaction
        kinds = {type(m) for m in broker.middleware}
        assert {AppContextMiddleware, TenantMiddleware} <= kinds
    with pytest.raises(ValueError, match="BROKER_URL"):
        broker_for("kafka://somewhere")


@pytest.mark.skipif(not _rabbitmq_reachable(), reason="no RabbitMQ on localhost:5672 (Debian rabbitmq-server)")
def test_a_job_enqueued_in_a_tenant_runs_in_that_tenant_on_rabbitmq(two_tenants, app):
    alpha, beta = two_tenants
    broker = broker_for(RABBITMQ_URL)
    queue = f"storecrm-test-{uuid.uuid4().hex[:8]}"
    seen, done = [], threading.Event()

    def record(label):
        seen.append((label, current_tenant_id(), db.session.scalar(select(func.count()).select_from(Customer))))
        if len(seen) == 2:
            done.set()

    job = dramatiq.actor(record, broker=broker, queue_name=queue, actor_name=f"record_{queue}", max_retries=0)
    broker.declare_queue(queue)
    with app.app_context():
        for world in (alpha, beta):
            with tenant_context(type("T", (), {"id": world.id, "slug": world.slug})()):
                job.send(world.slug)
    worker = Worker(broker, worker_threads=1, queues={queue})
    worker.start()
    try:
        assert done.wait(30), seen
    finally:
        worker.stop()
        channel = broker.channel
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.DQ")
        channel.queue_delete(f"{queue}.XQ")
        broker.close()
    assert sorted(seen) == sorted([("alpha", alpha.id, len(alpha.customers)), ("beta", beta.id, len(beta.customers))])
