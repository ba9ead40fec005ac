"""Background jobs on dramatiq. Importing this module installs the broker.

The broker is named by BROKER_URL: RabbitMQ (`amqp://…`, dramatiq's RabbitmqBroker on pika) or Redis
(`redis://…`, `unix://…`); unset, it is REDIS_URL's Redis. With STORECRM_BROKER=stub (tests), dramatiq's StubBroker.
The outbox and the timers do not depend on the choice: both are PostgreSQL tables, the broker only carries the
messages that wake their workers.
Every message carries the tenant of the code that enqueued it, and the worker re-enters that
tenant (and an app context, and one transaction) around the actor: see middleware.py.
"""
from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from periodiq import PeriodiqMiddleware

from ..embedded import apply_defaults
from .middleware import AppContextMiddleware, TenantMiddleware


def broker_for(url: str):
    """A broker for `url` (amqp://, amqps://: RabbitMQ; redis://, rediss://, unix://: Redis) with StoreCRM's
    middleware: every message carries its tenant, every actor runs in an app context and one transaction."""
    if url.startswith(("amqp://", "amqps://")):
        broker = RabbitmqBroker(url=url, confirm_delivery=True)  # a message is enqueued once RabbitMQ has it
    elif url.startswith(("redis://", "rediss://", "unix://")):
        broker = RedisBroker(url=url)
    else:
        raise ValueError(f"BROKER_URL must be amqp://… or redis://… / unix://…, not {url.split(':')[0]}://…")
    return _with_middleware(broker)


def _make_broker():
    if os.environ.get("STORECRM_BROKER") == "stub":
        return _with_middleware(StubBroker())
    url = os.environ.get("BROKER_URL")
    if not url:
        url = os.environ.get("REDIS_URL")
        if not url:
            apply_defaults()
            url = os.environ["REDIS_URL"]
    return broker_for(url)


def _with_middleware(broker):
    broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
    broker.add_middleware(AppContextMiddleware())
    broker.add_middleware(TenantMiddleware())
    return broker


broker = _make_broker()
dramatiq.set_broker(broker)


def actor(fn=None, **options):
    """`dramatiq.actor` bound to StoreCRM's broker; every actor runs in its enqueuer's tenant."""
    return dramatiq.actor(fn, broker=broker, **options) if fn else dramatiq.actor(broker=broker, **options)
