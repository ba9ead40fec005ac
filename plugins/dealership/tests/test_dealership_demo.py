"""The demo tenant's loader (`register_demo_tenants`, slug `dealer`) writes a small, complete workshop: repair
orders in every state, answered follow-ups, tomorrow's appointments — quickly and without failing."""
from __future__ import annotations

import random
from datetime import time

import pytest
from sqlalchemy import func, select

from storecrm.sdk import Appointment, DemoContext, Store, User, db, get_scoped, tenant_today

pytestmark = pytest.mark.storecrm_plugins("dealership")


def test_the_demo_loader_fills_every_state(make_tenant, in_tenant):
    from storecrm.plugins.dealership import register_demo_tenants
    from storecrm.plugins.dealership.models import STATES, RepairOrder

    (demo,) = register_demo_tenants()
    assert demo.slug == "dealer" and len(demo.stores) == 2
    world = make_tenant("dealer")
    with in_tenant(world):
        stores = [get_scoped(Store, store_id) for store_id in world.stores]
        for store, spec in zip(stores, demo.stores):
            store.opens_at, store.closes_at = spec["opens_at"], spec["closes_at"]
        users = {role: get_scoped(User, user_id) for role, user_id in world.users.items()}
        demo.load(DemoContext(tenant=None, stores=stores, users=users, rng=random.Random(7), today=tenant_today()))
    with in_tenant(world):
        states = dict(db.session.execute(select(RepairOrder.state, func.count()).group_by(RepairOrder.state)).all())
        assert set(states) == set(STATES)
        assert db.session.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.status == "booked")) == 3 + 2  # three maintenance bookings, two test drives
        from storecrm.plugins.dealership.models import TestDrive

        assert db.session.scalar(select(func.count()).select_from(TestDrive)) == 2
        assert time(8, 30) == stores[0].opens_at
