"""Scheduling: shifts, availability, booking without double booking (the database judges), state actions."""
from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm.extensions import db
from storecrm.scheduling import booking
from storecrm.scheduling.availability import availability, Board
from storecrm.scheduling.models import (Appointment, Resource, ScheduleException, ServiceType, StaffSkill,
                                        WorkingPattern)
from storecrm.scheduling.roster import on_shift, staff_on_shift
from storecrm.stores.models import Store
from storecrm.tenancy.context import TenantRef, tenant_context
from storecrm.tenancy.models import Tenant
from storecrm.users.models import User

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 4, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai
TUESDAY = date(2027, 1, 5)


def at(day: date, hh: int, mm: int = 0, zone=SH) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


def setup_shop(session, world, *, capacity=1, skills=None, needs_staff=True, buffer=0, duration=60,
               weekdays=range(7), start=time(9), end=time(12), staff_role="technician"):
    store = world.stores[0]
    tech = world.users[staff_role]
    for wd in weekdays:
        session.add(WorkingPattern(user_id=tech, store_id=store, weekday=wd, starts_at=start, ends_at=end))
    session.add(StaffSkill(user_id=tech, skill="install", level=3))
    bay = Resource(store_id=store, name="工位 1", kind="bay", capacity=capacity)
    service = ServiceType(name="音响安装", duration_minutes=duration, buffer_minutes=buffer,
                          required_skills=skills if skills is not None else {"install": 2}, needs_staff=needs_staff,
                          resource_kind="bay", min_notice_minutes=60, max_days_ahead=30)
    session.add_all([bay, service])
    session.flush()
    return store, tech, bay.id, service.id


def _objs(session, world, store_id, service_id):
    return session.get(Store, (world.id, store_id)), session.get(ServiceType, (world.id, service_id))


def test_availability_follows_the_pattern_in_the_tenant_zone(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, tech, _bay, service_id = setup_shop(session, alpha)
        store, service = _objs(session, alpha, store_id, service_id)
        slots = availability(store, service, TUESDAY, now=NOW)
        assert [s.starts_at for s in slots] == [at(TUESDAY, 9), at(TUESDAY, 9, 30), at(TUESDAY, 10),
                                                at(TUESDAY, 10, 30), at(TUESDAY, 11)]
        assert all(s.staff_ids == (tech,) for s in slots)


def test_a_booking_and_its_buffer_take_their_time_away(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, buffer=30)
        store, service = _objs(session, alpha, store_id, service_id)
        booking.book(None, {"store_id": store_id, "service_type_id": service_id, "customer_id": alpha.customers[0],
                            "starts_at": at(TUESDAY, 9)}, source="public", now=NOW)
        starts = [s.starts_at for s in availability(store, service, TUESDAY, now=NOW)]
        # 09:00-10:00 plus 30 minutes of buffer: the next start is 10:30, and 08:30..10:00 starts would overlap
        assert starts == [at(TUESDAY, 10, 30), at(TUESDAY, 11)]


def test_leave_extra_shift_and_closure(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, tech, _bay, service_id = setup_shop(session, alpha)
        store, service = _objs(session, alpha, store_id, service_id)
        session.add(ScheduleException(kind="leave", user_id=tech, starts_at=at(TUESDAY, 9), ends_at=at(TUESDAY, 11)))
        session.add(ScheduleException(kind="extra_shift", user_id=tech, store_id=store_id,
                                      starts_at=at(TUESDAY, 14), ends_at=at(TUESDAY, 15)))
        wednesday = TUESDAY + timedelta(days=1)
        session.add(ScheduleException(kind="closure", store_id=store_id, starts_at=at(wednesday, 0),
                                      ends_at=at(wednesday + timedelta(days=1), 0)))
        session.flush()
        starts = [s.starts_at for s in availability(store, service, TUESDAY, wednesday, now=NOW)]
        assert starts == [at(TUESDAY, 11), at(TUESDAY, 14)]
        user = session.get(User, (alpha.id, tech))
        assert not on_shift(user, at(TUESDAY, 10))
        assert on_shift(user, at(TUESDAY, 11, 30))
        assert on_shift(user, at(TUESDAY, 14, 30))
        assert not on_shift(user, at(wednesday, 10))
        assert [u.id for u in staff_on_shift(store, at(TUESDAY, 14, 30))] == [tech]
        assert staff_on_shift(store, at(TUESDAY, 13)) == []


def test_day_boundary_in_shanghai(two_tenants, in_tenant):
    """A shift from 00:00 to 02:00 Shanghai time belongs to that day, though it is the previous day in UTC."""
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, weekdays=[TUESDAY.weekday()],
                                                       start=time(0), end=time(2))
        store, service = _objs(session, alpha, store_id, service_id)
        slots = availability(store, service, TUESDAY, now=NOW)
        assert [s.starts_at for s in slots] == [datetime(2027, 1, 4, 16, 0, tzinfo=UTC),
                                                datetime(2027, 1, 4, 16, 30, tzinfo=UTC),
                                                datetime(2027, 1, 4, 17, 0, tzinfo=UTC)]
        assert availability(store, service, TUESDAY - timedelta(days=1), now=NOW) == []


def test_berlin_across_daylight_saving(two_tenants, in_tenant, system_db):
    alpha, _beta = two_tenants
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET timezone = 'Europe/Berlin' WHERE id = :t"), {"t": alpha.id})
    berlin = ZoneInfo("Europe/Berlin")
    saturday, sunday, monday = date(2027, 3, 27), date(2027, 3, 28), date(2027, 3, 29)  # clocks go forward on Sunday
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, end=time(10))
        store, service = _objs(session, alpha, store_id, service_id)
        now = datetime(2027, 3, 20, tzinfo=UTC)
        firsts = {s.starts_at.astimezone(berlin).date(): s.starts_at
                  for s in reversed(availability(store, service, saturday, monday, now=now))}
        assert firsts == {saturday: datetime(2027, 3, 27, 8, tzinfo=UTC),   # 09:00 CET
                          sunday: datetime(2027, 3, 28, 7, tzinfo=UTC),     # 09:00 CEST
                          monday: datetime(2027, 3, 29, 7, tzinfo=UTC)}


def test_skills_and_notice_limit_the_slots(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, skills={"install": 4})
        store, service = _objs(session, alpha, store_id, service_id)
        assert availability(store, service, TUESDAY, now=NOW) == []  # the technician is level 3
        service.required_skills = {"install": 3}
        assert [s.starts_at for s in availability(store, service, TUESDAY, now=at(TUESDAY, 9, 30))] == [
            at(TUESDAY, 10, 30), at(TUESDAY, 11)]  # an hour of notice


def test_availability_of_a_store_day_takes_a_bounded_number_of_queries(two_tenants, in_tenant, app):
    alpha, _beta = two_tenants
    from sqlalchemy import event

    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, capacity=3)
        store, service = _objs(session, alpha, store_id, service_id)
        for hh in (9, 10):
            booking.book(None, {"store_id": store_id, "service_type_id": service_id,
                                "customer_id": alpha.customers[0], "starts_at": at(TUESDAY, hh)}, now=NOW)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            availability(store, service, TUESDAY, TUESDAY + timedelta(days=6), now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(statements) <= 7, statements  # tenant row, patterns, exceptions, staff, resources, appointments


def test_state_actions_and_waiting_time(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha)
        appt = booking.book(None, {"store_id": store_id, "service_type_id": service_id,
                                   "customer_id": alpha.customers[0], "starts_at": at(TUESDAY, 9)}, now=NOW)
        booking.act(None, appt, "confirm")
        booking.act(None, appt, "arrive", now=at(TUESDAY, 8, 50))
        booking.act(None, appt, "start", now=at(TUESDAY, 9, 5))
        booking.act(None, appt, "complete", now=at(TUESDAY, 10, 20))
        assert appt.status == "done" and appt.waiting_minutes == 90
        from storecrm.scheduling.timeline import average_wait, no_show_rate

        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        assert average_wait(owner, walk_in=False) == 90 and average_wait(owner, walk_in=True) is None
        assert no_show_rate(owner) == "0%"
        with pytest.raises(ValidationError):
            booking.act(None, appt, "cancel")


def test_cancelled_and_no_show_free_the_time(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha)
        data = {"store_id": store_id, "service_type_id": service_id, "customer_id": alpha.customers[0],
                "starts_at": at(TUESDAY, 9)}
        first = booking.book(None, data, now=NOW)
        with pytest.raises(booking.SlotTaken) as taken:
            booking.book(None, {**data, "customer_id": alpha.customers[1]}, now=NOW)
        assert taken.value.next_slots[0].starts_at == at(TUESDAY, 10)
        booking.act(None, first, "cancel", reason="customer called")
        second = booking.book(None, {**data, "customer_id": alpha.customers[1]}, now=NOW)
        booking.act(None, second, "no_show")
        booking.book(None, {**data, "customer_id": alpha.customers[2]}, now=NOW)


def test_reschedule_moves_and_the_database_still_judges(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha)
        data = {"store_id": store_id, "service_type_id": service_id, "customer_id": alpha.customers[0]}
        a = booking.book(None, {**data, "starts_at": at(TUESDAY, 9)}, now=NOW)
        booking.book(None, {**data, "starts_at": at(TUESDAY, 11)}, now=NOW)
        with pytest.raises(booking.SlotTaken):
            booking.reschedule(None, a, {"starts_at": at(TUESDAY, 11)}, now=NOW)
        assert a.starts_at == at(TUESDAY, 9)
        booking.reschedule(None, a, {"starts_at": at(TUESDAY, 9, 30)}, now=NOW)  # overlaps only itself
        assert a.starts_at == at(TUESDAY, 9, 30)


def test_references_of_another_tenant_do_not_exist(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha)
    with in_tenant(beta):
        with pytest.raises(ValidationError) as err:
            booking.book(None, {"store_id": store_id, "service_type_id": service_id,
                                "customer_id": alpha.customers[0], "starts_at": at(TUESDAY, 9)}, now=NOW)
        assert {"store_id", "service_type_id", "customer_id"} <= set(err.value.messages)


def test_the_exclusion_constraint_refuses_overlaps_whatever_the_application_does(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    from sqlalchemy.exc import IntegrityError

    with in_tenant(alpha) as session:
        store_id, tech, bay, service_id = setup_shop(session, alpha)
        row = dict(store_id=store_id, customer_id=alpha.customers[0], service_type_id=service_id, staff_id=tech,
                   starts_at=at(TUESDAY, 9), ends_at=at(TUESDAY, 10), blocked_until=at(TUESDAY, 10))
        session.add(Appointment(**row))
        session.flush()
        with pytest.raises(IntegrityError, match="appointments_staff_no_overlap"):
            with session.begin_nested():
                session.add(Appointment(**{**row, "starts_at": at(TUESDAY, 9, 59)}))
        session.add(Appointment(**{**row, "starts_at": at(TUESDAY, 10), "ends_at": at(TUESDAY, 11),
                                   "blocked_until": at(TUESDAY, 11)}))  # touching is not overlapping
        session.add(Appointment(**{**row, "status": "cancelled"}))
        session.flush()


def _race(app, world, data, n=50):
    """n bookings of `data` from n threads, each with its own connection; returns (wins, refusals, errors)."""
    results, lock = [], threading.Lock()
    barrier = threading.Barrier(min(n, 10))

    def one(i):
        outcome = None
        try:
            with app.app_context(), tenant_context(TenantRef(world.id, world.slug)):
                try:
                    try:
                        barrier.wait(timeout=5)
                    except threading.BrokenBarrierError:
                        pass
                    booking.book(None, {**data, "customer_id": world.customers[i % len(world.customers)]},
                                 now=NOW)
                    db.session.commit()
                    outcome = "won"
                except booking.SlotTaken:
                    db.session.rollback()
                    outcome = "taken"
                finally:
                    db.session.remove()
        except Exception as exc:  # noqa: BLE001 — reported, the test fails on it
            outcome = repr(exc)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("capacity", [1, 2])
def test_fifty_parallel_bookings_of_one_slot(two_tenants, in_tenant, app, system_db, capacity):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, capacity=capacity, needs_staff=False,
                                                       skills={})
        store = session.get(Store, (alpha.id, store_id))
        store.opens_at, store.closes_at = time(9), time(18)
    results = _race(app, alpha, {"store_id": store_id, "service_type_id": service_id, "starts_at": at(TUESDAY, 9)})
    assert sorted(set(results)) == ["taken", "won"], results
    assert results.count("won") == capacity
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM appointments a JOIN appointments b ON a.tenant_id = b.tenant_id "
                                 "AND a.id < b.id AND a.resource_id = b.resource_id "
                                 "AND a.resource_unit = b.resource_unit AND a.during && b.during")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM appointments")).scalar() == capacity


def test_parallel_bookings_of_one_technician(two_tenants, in_tenant, app):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, _tech, _bay, service_id = setup_shop(session, alpha, capacity=5)
    results = _race(app, alpha, {"store_id": store_id, "service_type_id": service_id, "starts_at": at(TUESDAY, 9)},
                    n=20)
    assert results.count("won") == 1 and results.count("taken") == 19, results


def test_dispatch_ranks_by_skill_region_shift_load_and_history_with_reasons(two_tenants, in_tenant, app):
    """A plugin adds its own signal through `dispatch_signals` (registered without being a tenant's plugin: the
    core and unlisted implementations always answer)."""
    import types

    from storecrm.hooks import hookimpl
    from storecrm.hooks.runtime import host
    from storecrm.scheduling.dispatch import rank_technicians
    from storecrm.scheduling.models import StaffRegion

    alpha, _beta = two_tenants
    spy = types.ModuleType("dispatch_spy")
    spy.dispatch_signals = hookimpl(lambda job, user_ids: {alpha.users["manager"]: (1, "likes Tuesdays")})
    host(app).pm.register(spy, name="dispatch_spy")
    try:
        with in_tenant(alpha) as session:
            store_id, tech, _bay, service_id = setup_shop(session, alpha)
            session.add(StaffRegion(user_id=tech, region="浦东新区"))
            manager = alpha.users["manager"]
            session.add(StaffSkill(user_id=manager, skill="install", level=5))
            session.flush()
            store = session.get(Store, (alpha.id, store_id))
            ranked = rank_technicians(store, skills={"install": 3}, region="浦东新区", at=at(TUESDAY, 10))
            by_id = {r.user_id: r for r in ranked}
            assert ranked[0].user_id == tech  # on shift and in the region beat a higher level off shift
            assert by_id[tech].on_shift and not by_id[manager].on_shift
            assert any("浦东新区" in reason for reason in by_id[tech].reasons)
            assert "likes Tuesdays" in by_id[manager].reasons
            advisor = by_id[alpha.users["advisor"]]
            assert advisor.score < 0 and any("install" in reason for reason in advisor.reasons)  # lacks the skill
            booking.book(None, {"store_id": store_id, "service_type_id": service_id,
                                "customer_id": alpha.customers[0], "starts_at": at(TUESDAY, 9)}, now=NOW)
            loaded = {r.user_id: r for r in rank_technicians(store, skills={"install": 3}, at=at(TUESDAY, 10))}
            assert loaded[tech].load == 1
    finally:
        host(app).pm.unregister(name="dispatch_spy")


def test_a_move_that_loses_one_candidate_takes_the_next(two_tenants, in_tenant, monkeypatch, system_db):
    """Availability read a moment ago may be stale: the first candidate is refused by the database, the next one
    is tried with the new time (the refused savepoint must not undo the move's values)."""
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store_id, tech, _bay, service_id = setup_shop(session, alpha, capacity=3)
        other = alpha.users["advisor"]
        for wd in range(7):
            session.add(WorkingPattern(user_id=other, store_id=store_id, weekday=wd, starts_at=time(9),
                                       ends_at=time(12)))
        session.add(StaffSkill(user_id=other, skill="install", level=3))
        session.flush()
        data = {"store_id": store_id, "service_type_id": service_id, "customer_id": alpha.customers[0]}
        booking.book(None, {**data, "starts_at": at(TUESDAY, 11), "staff_id": tech}, now=NOW)
        moving = booking.book(None, {**data, "starts_at": at(TUESDAY, 9), "staff_id": other}, now=NOW)
        real = booking._candidates
        monkeypatch.setattr(booking, "_candidates", lambda options, staff_id, needs_staff, start: (
            [tech, other], real(options, staff_id, needs_staff, start)[1]))
        booking.reschedule(None, moving, {"starts_at": at(TUESDAY, 11)}, now=NOW)
        assert (moving.starts_at, moving.staff_id) == (at(TUESDAY, 11), other)
        moving_id = moving.id
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT starts_at, staff_id FROM appointments WHERE id = :i AND tenant_id = :t"),
                           {"i": moving_id, "t": alpha.id}).one()
    assert tuple(row) == (at(TUESDAY, 11), other)
