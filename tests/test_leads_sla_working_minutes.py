"""The store-hours clock's inverse: `working_minutes` counts only opening hours between two moments and skips
closures, and agrees with `deadline` (what a stopped clock used + what is left = the promise)."""
from datetime import date, datetime, time, timedelta

from storecrm.calendar import tenant_zone
from storecrm.extensions import db
from storecrm.leads import sla
from storecrm.scheduling.models import ScheduleException
from storecrm.stores.models import Store

MONDAY = date(2026, 11, 30)


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=tenant_zone())


def test_working_minutes_skip_nights_and_closures_and_invert_the_deadline(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        store = db.session.get(Store, (alpha.id, alpha.stores[0]))
        store.opens_at, store.closes_at = time(9), time(18)
        assert sla.working_minutes(store, at(MONDAY, 17), at(MONDAY + timedelta(days=1), 10)) == 120
        assert sla.working_minutes(store, at(MONDAY, 20), at(MONDAY, 23)) == 0
        assert sla.working_minutes(store, at(MONDAY, 12), at(MONDAY, 11)) == 0
        tuesday = MONDAY + timedelta(days=1)
        db.session.add(ScheduleException(kind="closure", store_id=store.id, starts_at=at(tuesday, 0),
                                         ends_at=at(tuesday + timedelta(days=1), 0)))
        db.session.flush()
        start, end = at(MONDAY, 17), at(MONDAY + timedelta(days=2), 10)
        assert sla.working_minutes(store, start, end) == 120          # Monday 17–18, Wednesday 9–10
        for used in (0, 45, 60, 600):
            due = sla.deadline(store, start, 720)
            middle = sla.deadline(store, start, used)
            assert sla.working_minutes(store, start, middle) == used
            assert sla.deadline(store, middle, 720 - used) == due
        # a store without opening hours counts the plain clock
        store.opens_at = store.closes_at = None
        assert sla.working_minutes(store, at(MONDAY, 20), at(MONDAY, 23)) == 180
