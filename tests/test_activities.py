"""Interactions, tasks (待办) and the customer timeline, as staff use them on a busy day."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import text


def test_advisor_logs_a_call_and_it_appears_on_the_timeline(two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "technician")  # anyone who sees the customer may log
    url = f"/t/alpha/customers/{alpha.customers[0]}"
    b.get(url)
    assert b.post(url + "/interactions", {"kind": "call", "body": "客户想加装低音炮，周六到店"}).status_code == 302
    bad = b.post(url + "/interactions", {"kind": "fax", "body": ""})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-error-for="kind"' in html and 'data-error-for="body"' in html
    page = b.get(url).get_data(as_text=True)
    assert "客户想加装低音炮" in page and 'data-kind="interaction:call"' in page
    only_changes = b.get(url + "?tl=change").get_data(as_text=True)
    assert "客户想加装低音炮" not in only_changes


def test_tasks_for_a_customer_show_on_my_tasks_with_overdue_badge(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    url = f"/t/alpha/customers/{alpha.customers[0]}"
    b.get(url)
    assert b.post(url + "/tasks", {"title": "回访：音响效果", "due_at": "2020-01-01T10:00",
                                   "assignee_id": str(alpha.users["advisor"])}).status_code == 302
    assert b.post(url + "/tasks", {"title": "", "due_at": "not a time"}).status_code == 422
    assert b.post(url + "/tasks", {"title": "x", "assignee_id": "999999"}).status_code == 422
    mine = b.get("/t/alpha/tasks/").get_data(as_text=True)
    assert "回访：音响效果" in mine and 'data-testid="overdue"' in mine
    import re

    task_id = re.search(r"/t/alpha/tasks/(\d+)/status", mine).group(1)
    assert b.post(f"/t/alpha/tasks/{task_id}/status", {"status": "done"}).status_code == 302
    assert "回访：音响效果" not in b.get("/t/alpha/tasks/").get_data(as_text=True)
    assert "回访：音响效果" in b.get("/t/alpha/tasks/?done=1").get_data(as_text=True)
    # a technician of another store cannot touch it
    other = login(alpha, "technician")
    assert other.post(f"/t/alpha/tasks/{task_id}/status", {"status": "open"}).status_code in (302, 404)


def test_due_time_typed_in_the_form_is_the_tenants_local_time(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    url = f"/t/alpha/customers/{alpha.customers[0]}"
    b.get(url)
    b.post(url + "/tasks", {"title": "Shanghai morning", "due_at": "2030-05-01T09:00"})
    with system_db.connect() as conn:
        due = conn.execute(text("SELECT due_at FROM tasks WHERE title='Shanghai morning'")).scalar()
    assert due.astimezone(timezone.utc) == datetime(2030, 5, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 in UTC+8


def test_tasks_and_timeline_through_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "manager")
    cid = alpha.customers[0]
    assert client.post(f"/api/v1/customers/{cid}/interactions", json={"kind": "visit", "body": "到店试听"},
                       headers=headers).status_code == 201
    task = client.post("/api/v1/tasks", json={"title": "报价跟进", "customer_id": cid,
                                              "due_at": "2030-01-02T03:04:05+08:00"}, headers=headers)
    assert task.status_code == 201 and task.get_json()["assignee_id"] == alpha.users["manager"]
    tid = task.get_json()["id"]
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=headers).get_json()] == [tid]
    done = client.patch(f"/api/v1/tasks/{tid}", json={"status": "done"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["done_at"]
    assert client.patch(f"/api/v1/tasks/{tid}", json={"priority": "urgent"}, headers=headers).status_code == 422
    page = client.get(f"/api/v1/customers/{cid}/timeline?limit=2", headers=headers).get_json()
    assert len(page["items"]) == 2 and page["next_before"]
    rest = client.get(f"/api/v1/customers/{cid}/timeline", query_string={"before": page["next_before"]},
                      headers=headers).get_json()
    seen = [i["title"] for i in page["items"] + rest["items"]]
    assert len(seen) == len(set((i["at"], i["title"]) for i in page["items"] + rest["items"]))
    kinds = {i["kind"] for i in page["items"] + rest["items"]}
    assert {"interaction:visit", "task", "change"} <= kinds


def test_timeline_pages_through_a_long_history(two_tenants, in_tenant, login):
    alpha, _ = two_tenants
    from storecrm.activities.models import Interaction

    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with in_tenant(alpha) as session:
        for n in range(45):
            session.add(Interaction(customer_id=alpha.customers[0], kind="note", body=f"note {n:02d}",
                                    occurred_at=base + timedelta(hours=n)))
    b = login(alpha, "owner")
    seen, url = [], f"/t/alpha/customers/{alpha.customers[0]}?tl=interaction"
    import re

    for _ in range(5):
        page = b.get(url).get_data(as_text=True)
        seen += re.findall(r"note (\d\d)", page)
        more = re.search(r'href="([^"]+before=[^"]+)">', page)
        if not more:
            break
        url = more.group(1).replace("&amp;", "&")
    assert seen == [f"{n:02d}" for n in range(44, -1, -1)]
