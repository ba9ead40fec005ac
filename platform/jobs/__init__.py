"""Background jobs on dramatiq. Importing this module installs the broker.

The broker is Redis (REDIS_URL) or, with STORECRM_BROKER=stub (tests), dramatiq's StubBroker.
Every message carries the tenant of the code that enqueued it, and the worker re-enters that
tenant (and an app context, and one transaction) around the actor: see middleware.py.
"""
from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from ..embedded import apply_defaults
from .middleware import AppContextMiddleware, TenantMiddleware


def _make_broker():
    if os.environ.get("STORECRM_BROKER") == "stub":
        broker = StubBroker()
    else:
        url = os.environ.get("REDIS_URL")
        if not url:
            apply_defaults()
            url = os.environ["REDIS_URL"]
        broker = RedisBroker(url=url)
    from periodiq import PeriodiqMiddleware

    broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
    broker.add_middleware(AppContextMiddleware())
    broker.add_middleware(TenantMiddleware())
    return broker


broker = _make_broker()
dramatiq.set_broker(broker)


def actor(fn=None, **options):
    """`dramatiq.actor` bound to StoreCRM's broker; every actor runs in its enqueuer's tenant."""
    return dramatiq.actor(fn, broker=broker, **options) if fn else dramatiq.actor(broker=broker, **options)
