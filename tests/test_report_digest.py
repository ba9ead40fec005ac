"""The weekly digest: opt-in per user, last week's KPIs of the user's role through the outbox, once per week per
user even when two schedulers run the job at the same moment; opted-out users and a rerun get nothing."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, text

from storecrm.notifications.models import OutboxMessage
from storecrm.reports import digest
from storecrm.reports.periods import report_today
from storecrm.users.models import User


def test_the_weekly_digest_goes_once_per_user_and_week(two_tenants, in_tenant, login, system_db):
    alpha, _beta = two_tenants
    assert login(alpha, "manager").post("/t/alpha/reports/digest", {"on": "1"}).status_code == 302
    with in_tenant(alpha) as session:
        manager = session.get(User, (alpha.id, alpha.users["manager"]))
        assert digest.subscribed(manager)
        assert digest.send_digests() == 0  # the week the user opted in counts as sent
        next_monday = report_today() + timedelta(days=7 - report_today().weekday())

    barrier, errors, counts = threading.Barrier(2), [], []

    def scheduler():
        try:
            with in_tenant(alpha):
                barrier.wait()
                counts.append(digest.send_digests(next_monday))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(counts) == [0, 1]
    with in_tenant(alpha) as session:
        assert digest.send_digests(next_monday + timedelta(days=3)) == 0  # same week: nothing more
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("digest:%"))).one()
        assert mail.recipient == alpha.emails["manager"] and mail.channel == "email"
        assert "–" in mail.subject and mail.body.count("·") >= 1
        assert digest.send_digests(next_monday + timedelta(days=7)) == 1  # the week after: the next one
        digest.subscribe(session.get(User, (alpha.id, alpha.users["manager"])), False)
        assert digest.send_digests(next_monday + timedelta(days=14)) == 0
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox_messages WHERE dedupe_key LIKE 'digest:%'")).scalar() == 2
