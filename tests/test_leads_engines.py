"""The leads' acceptance against real moving parts, as tests/test_engines_integration.py runs the engines: a Redis
server, two dramatiq worker processes and two scheduler processes. A lead not contacted in time escalates within a
minute of its deadline (once, with two schedulers sweeping), and a lead nobody followed up returns to the pool.

About 15 s on an idle machine (process start-up dominates), so it stays in the suite."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from storecrm.leads import services
from storecrm.tenancy.models import utcnow
from storecrm.users.models import User
from tests.test_engines_integration import _rows, _wait, moving_parts, smtp  # noqa: F401 — fixtures
from tests.test_leads import make_channel, on_shift_all_week


def test_first_contact_escalates_and_an_unfollowed_lead_returns_to_the_pool_with_real_worker_and_scheduler(
        two_tenants, in_tenant, system_db, moving_parts):  # noqa: F811 — the imported fixture
    run, _redis, _received = moving_parts
    alpha, _beta = two_tenants
    with in_tenant(alpha) as s:
        on_shift_all_week(s, alpha, "advisor")
        services.save_settings({"pool_after_hours": 1})
        channel = make_channel(s, alpha, first_contact_minutes=5)
        late = services.capture(channel, {"name": "没人回电", "mobile": "+8613900003101"}, source="form")[0]
        stale = services.capture(channel, {"name": "没人跟进", "mobile": "+8613900003102"}, source="form")[0]
        services.act(s.get(User, (alpha.id, alpha.users["advisor"])), stale, "contact")
        late_id, stale_id = late.id, stale.id
        # the controllable clock, without waiting five minutes or an hour: the deadlines are a few seconds away, and
        # the second lead was last touched two hours ago
        s.execute(text("UPDATE timers SET due_at = now() + interval '4 seconds' WHERE key IN (:a, :b)"),
                  {"a": f"lead:{late_id}:first_contact", "b": f"lead:{stale_id}:pool"})
        s.execute(text("UPDATE leads SET first_contact_deadline = now() + interval '4 seconds' WHERE id = :l"),
                  {"l": late_id})
        s.execute(text("UPDATE leads SET touched_at = :t, assigned_at = :t WHERE id = :l"),
                  {"t": utcnow() - timedelta(hours=2), "l": stale_id})
    run(50)
    assert _wait(lambda: _rows(system_db, "SELECT count(*) FROM leads WHERE tenant_id = :t AND "
                                          "((id = :a AND escalated_at IS NOT NULL) OR (id = :b AND pooled_at IS NOT "
                                          "NULL))", t=alpha.id, a=late_id, b=stale_id)[0][0] == 2, 50)
    late_by = _rows(system_db, "SELECT max(fired_at - due_at) FROM timers WHERE key IN (:a, :b)",
                    a=f"lead:{late_id}:first_contact", b=f"lead:{stale_id}:pool")[0][0]
    assert late_by.total_seconds() < 60, late_by
    escalated = _rows(system_db, "SELECT escalated_at - first_contact_deadline FROM leads WHERE id = :l",
                      l=late_id)[0][0]
    assert escalated.total_seconds() < 60  # measured against the lead's own deadline, as the acceptance says
    time.sleep(2)  # let a duplicate show itself
    titles = sorted(r[0] for r in _rows(system_db, "SELECT title FROM notifications WHERE tenant_id = :t AND "
                                                   "(title LIKE 'First contact%' OR title LIKE 'Returned%')",
                                        t=alpha.id))
    # the owner and the store manager each told once; the owner told once that the other lead went back
    assert titles == ["First contact overdue: 没人回电", "First contact overdue: 没人回电",
                      "Returned to the public pool: 没人跟进"], titles
    assert _rows(system_db, "SELECT owner_id, pool, pool_reason FROM leads WHERE id = :l", l=stale_id) == \
        [(None, "open", "not_followed_up")]
