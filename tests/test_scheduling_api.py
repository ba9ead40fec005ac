"""Scheduling over /api/v1: set-up, availability, booking (409 with next free slots), actions, dispatch."""
from __future__ import annotations

from datetime import date, timedelta

from storecrm.calendar import DEFAULT_ZONE  # noqa: F401  (the tenant zone of the fixtures)


def _setup(client, h, world):
    tech = world.users["technician"]
    r = client.post("/api/v1/resources", json={"store_id": world.stores[0], "name": "工位 1", "kind": "bay",
                                               "capacity": 1}, headers=h)
    assert r.status_code == 201, r.get_json()
    s = client.post("/api/v1/service-types", json={"name": "音响安装", "duration_minutes": 60, "buffer_minutes": 30,
                                                   "required_skills": {"安装": 2}, "resource_kind": "bay",
                                                   "min_notice_minutes": 0}, headers=h)
    assert s.status_code == 201, s.get_json()
    for wd in range(7):
        p = client.post("/api/v1/staff-schedules/patterns", json={"user_id": tech, "store_id": world.stores[0],
                                                                  "weekday": wd, "starts_at": "09:00",
                                                                  "ends_at": "12:00"}, headers=h)
        assert p.status_code == 201, p.get_json()
    prof = client.put(f"/api/v1/staff-schedules/staff/{tech}", json={"skills": {"安装": 3}, "regions": ["浦东新区"]},
                      headers=h)
    assert prof.status_code == 200 and prof.get_json()["skills"] == {"安装": 3}
    return s.get_json()["id"], r.get_json()["id"]


def test_book_over_the_api(two_tenants, api_token, app):
    alpha, _beta = two_tenants
    h = api_token(alpha, "owner")
    client = app.test_client()
    service_id, _resource_id = _setup(client, h, alpha)
    day = (date.today() + timedelta(days=2)).isoformat()
    slots = client.get(f"/api/v1/availability?store_id={alpha.stores[0]}&service_type_id={service_id}&date={day}",
                       headers=h).get_json()
    assert [s["starts_at"][11:16] for s in slots] == ["01:00", "01:30", "02:00", "02:30", "03:00"]  # 09:00 Shanghai..
    body = {"store_id": alpha.stores[0], "service_type_id": service_id, "customer_id": alpha.customers[0],
            "starts_at": slots[0]["starts_at"]}
    first = client.post("/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": "k1"})
    assert first.status_code == 201, first.get_json()
    replay = client.post("/api/v1/appointments", json=body, headers={**h, "Idempotency-Key": "k1"})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    taken = client.post("/api/v1/appointments", json={**body, "customer_id": alpha.customers[1]}, headers=h)
    assert taken.status_code == 409 and taken.mimetype == "application/problem+json"
    assert taken.get_json()["next_slots"][0]["starts_at"][11:16] == "02:30"  # 60 min + 30 min buffer
    appt = first.get_json()["id"]
    assert client.post(f"/api/v1/appointments/{appt}/confirm", json={}, headers=h).get_json()["status"] == "confirmed"
    moved = client.post(f"/api/v1/appointments/{appt}/reschedule", json={"starts_at": slots[2]["starts_at"]},
                        headers=h)
    assert moved.status_code == 200, moved.get_json()
    assert client.post(f"/api/v1/appointments/{appt}/arrive", json={}, headers=h).get_json()["status"] == "arrived"
    bad = client.post(f"/api/v1/appointments/{appt}/cancel", json={}, headers=h)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    listed = client.get(f"/api/v1/appointments?store_id={alpha.stores[0]}&date={day}", headers=h).get_json()
    assert [a["id"] for a in listed] == [appt]
    recs = client.get(f"/api/v1/dispatch/recommendations?store_id={alpha.stores[0]}&skills=安装:2&region=浦东新区",
                      headers=h).get_json()
    assert recs[0]["user_id"] == alpha.users["technician"] and recs[0]["reasons"]
    assert client.get(f"/api/v1/staff-schedules/on-shift?store_id={alpha.stores[0]}", headers=h).status_code == 200


def test_bad_input_answers_422_never_500(two_tenants, api_token, app):
    alpha, _beta = two_tenants
    h = api_token(alpha, "owner")
    client = app.test_client()
    service_id, _r = _setup(client, h, alpha)
    cases = [
        ("/api/v1/appointments", {"store_id": alpha.stores[0], "service_type_id": service_id,
                                  "customer_id": alpha.customers[0], "starts_at": "2027-01-05T09:00:00"}),  # naive
        ("/api/v1/appointments", {"store_id": 10**30, "service_type_id": service_id, "customer_id": 1,
                                  "starts_at": "2027-01-05T09:00:00+08:00"}),
        ("/api/v1/service-types", {"name": "x", "duration_minutes": 60, "required_skills": {"a": 9}}),
        ("/api/v1/staff-schedules/patterns", {"user_id": 1, "store_id": alpha.stores[0], "weekday": 7,
                                              "starts_at": "10:00", "ends_at": "09:00"}),
        ("/api/v1/staff-schedules/exceptions", {"kind": "closure", "user_id": 1, "starts_at": "2027-01-05T09:00:00Z",
                                                "ends_at": "2027-01-04T09:00:00Z"}),
        ("/api/v1/resources", {"store_id": alpha.stores[0], "name": "x", "kind": "boat", "capacity": 0}),
    ]
    for url, body in cases:
        resp = client.post(url, json=body, headers=h)
        assert resp.status_code == 422, (url, resp.status_code, resp.get_json())
    resp = client.get(f"/api/v1/availability?store_id={alpha.stores[0]}&service_type_id={service_id}"
                      "&date=2027-01-01&until=2027-03-01", headers=h)
    assert resp.status_code == 422


def test_the_openapi_document_lists_scheduling(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/appointments", "/api/v1/appointments/{appointment_id}/arrive",
                 "/api/v1/appointments/{appointment_id}/cancel", "/api/v1/availability", "/api/v1/resources",
                 "/api/v1/service-types", "/api/v1/staff-schedules/patterns", "/api/v1/dispatch/recommendations"):
        assert path in spec["paths"], path
