"""The API answers as its OpenAPI document says: schemathesis runs every operation against a seeded tenant.

Stateless and bounded: up to EXAMPLES_PER_OPERATION generated requests per operation, valid and invalid,
derandomized, so CI sends the same requests every run. Path parameters point at records seeded here, so operations do more than answer 404.
Checks: no 5xx, every response matches its documented schema and media type, every status code is documented.
The test runs all operations and then fails once, naming each operation that broke with a request to replay.

(Not `schemathesis.pytest.from_fixture`: its per-operation subtests break on pytest 9.2, which renamed a node
attribute they set; the loop below uses only schemathesis' public strategy and check API.)
"""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.openapi import from_wsgi
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]
EXAMPLES_PER_OPERATION = 25  # ~90 operations: about 30 s on a 2-core machine; raise it locally to explore
BOUNDED = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                   suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


class SeededWorld:
    """Tenant alpha with one record of every kind the API addresses by id, and which id each path parameter gets."""

    def __init__(self, headers: dict):
        self.headers = headers
        self.ids: dict[str, object] = {}
        self.doomed: dict[str, object] = {}  # what DELETE may destroy, so later operations keep their records

    def path_parameters(self, operation) -> dict:
        """Seeded ids for the operation's path parameters (generated ones would only find nothing)."""
        pool = {**self.ids, **self.doomed} if operation.method.upper() == "DELETE" else self.ids
        resource = operation.path.split("/")[3]  # "message-templates.code" and "workflows.code" differ
        names = [p.name for p in operation.path_parameters]
        return {name: pool.get(f"{resource}.{name}", pool.get(name)) for name in names
                if f"{resource}.{name}" in pool or name in pool}


def _ok(resp, status=(200, 201, 202)):
    assert resp.status_code in status, (resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_json()


def _seed(app, alpha, headers, spare_headers, in_tenant, enable_plugin) -> SeededWorld:
    """Through the API where it can (the records are what a client would make), in the tenant otherwise."""
    from PIL import Image

    client, world = app.test_client(), SeededWorld(headers)
    post = lambda url, **kw: _ok(client.post(f"/api/v1{url}", headers=headers, **kw))  # noqa: E731
    customer = alpha.customers[0]
    enable_plugin(alpha, "carwash")
    # a task without customer and not done: related_type, related_id and done_at are null
    loose = post("/tasks", json={"title": "回访", "assignee_id": alpha.users["owner"]})
    # an open task of the customer (in the overview) and a done one (done_at set)
    post("/tasks", json={"title": "Call back", "customer_id": customer, "due_at": "2026-06-01T09:00:00+00:00"})
    done = post("/tasks", json={"title": "Done", "customer_id": customer})
    _ok(client.patch(f"/api/v1/tasks/{done['id']}", json={"status": "done"}, headers=headers))
    post(f"/customers/{customer}/interactions", json={"kind": "call", "body": "问了保养价格"})
    car = post("/assets", json={"customer_id": customer, "type": "vehicle", "name": "Model Y",
                                "identifiers": {"plate": "沪A12345"}, "installed_on": "2025-03-01"})
    post(f"/assets/{car['id']}/readings", json={"value": 12000, "read_on": "2026-01-10"})
    field = post("/fields", json={"entity": "customer", "code": "budget", "label_zh": "预算", "label_en": "Budget",
                                  "type": "number"})
    png = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(png, "PNG")
    photo = post("/files", data={"file": (io.BytesIO(png.getvalue()), "car.png")},
                 content_type="multipart/form-data")
    hook = post("/webhooks", json={"url": "http://127.0.0.1:9/storecrm", "events": ["task.created"]})
    _ok(client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=headers))
    delivery = _ok(client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers))[0]
    doomed_hook = post("/webhooks", json={"url": "http://127.0.0.1:9/doomed"})
    rule = {"name": "Birthday", "entity": "customer", "enabled": False,
            "trigger": {"type": "date", "field": "birthday", "annual": True},
            "actions": [{"type": "notify", "channel": "sms", "to": "customer", "body": "生日快乐 {customer_name}"}]}
    kept_rule, doomed_rule = post("/rules", json=rule), post("/rules", json={**rule, "name": "Birthday 2"})
    workflow = post("/workflows", json={"template": "quote_approval"})
    item = post("/workflow-items", json={"workflow": workflow["code"], "entity": "customer", "record_id": customer})
    doomed_identity = post(f"/customers/{customer}/identities", json={"kind": "wechat", "value": "wx_alpha_1"})
    template = _ok(client.get("/api/v1/message-templates", headers=headers))[0]
    signing_hint = headers["Authorization"][-6:]
    spare_token = next(t for t in _ok(client.get("/api/v1/tokens", headers=spare_headers))
                       if t["hint"] != signing_hint)
    wash = _ok(client.post("/api/v1/carwash/washes", json={"customer_id": customer, "wash_type": "basic"},
                           headers=headers))
    with in_tenant(alpha) as session:
        from storecrm.customers.identities import identities_of
        from storecrm.customers.merging import merge
        from storecrm.customers.models import Customer
        from storecrm.notifications.services import notify_user
        from storecrm.users.models import User

        duplicate = Customer(name="ALPHA-customer-2 dup", store_id=alpha.stores[0])
        session.add(duplicate)
        session.flush()
        world.ids["merge_id"] = merge(session.get(Customer, (alpha.id, alpha.customers[2])), duplicate, {}).id
        world.ids["identity_id"] = identities_of(customer)[0].id
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        world.ids["notification_id"] = notify_user(owner, "A task is due", email=False).id
    world.ids.update({
        "store_id": alpha.stores[0], "user_id": alpha.users["advisor"], "customer_id": customer,
        "task_id": loose["id"], "asset_id": car["id"], "definition_id": field["id"], "file_id": photo["id"],
        "endpoint_id": hook["id"], "delivery_id": delivery["id"], "rule_id": kept_rule["id"],
        "workflows.code": workflow["code"], "item_id": item["id"], "message-templates.code": template["code"],
        "name": "carwash", "wash_id": wash["id"], "token_id": spare_token["id"],
    })
    world.doomed.update({"identity_id": doomed_identity["id"], "endpoint_id": doomed_hook["id"],
                         "rule_id": doomed_rule["id"]})
    return world


@pytest.fixture
def seeded(app, two_tenants, api_token, in_tenant, enable_plugin, monkeypatch):
    # the seeded webhooks point at a loopback address (IP literals: nothing to resolve), as a self-hosted install may
    monkeypatch.setenv("STORECRM_WEBHOOKS_ALLOW_PRIVATE", "1")
    # hundreds of requests in a minute by one token: the per-user API limit is not what is under test
    monkeypatch.setattr(app.config["STORECRM"], "api_rate_limit", "100000 per minute")
    alpha, _beta = two_tenants  # beta is there so another tenant's rows exist, never reachable
    # DELETE /tokens/{id} revokes a spare token of the same user, never the one the run signs with
    return _seed(app, alpha, api_token(alpha, "owner"), api_token(alpha, "owner"), in_tenant, enable_plugin)


def _strategy(operation, path_parameters):
    # an operation with nothing to make invalid simply draws no negative case
    return (operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path_parameters)
            | operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=path_parameters))


def test_every_operation_answers_as_documented(app, seeded):
    schema = from_wsgi("/api/v1/openapi.json", app)
    failures, ran = {}, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"

        @BOUNDED
        @given(case=_strategy(operation, seeded.path_parameters(operation)))
        def run(case):
            case.call_and_validate(headers=seeded.headers, checks=CHECKS)

        try:
            run()
        except (Exception, FailureGroup) as exc:  # one operation's failure must not hide the others'
            failures[label] = exc
        finally:
            if operation.path.endswith("/disable"):  # the plugin stays on for its own operations later
                app.test_client().post(f"/api/v1/plugins/{seeded.ids['name']}/enable", headers=seeded.headers)
        ran += 1
    assert ran >= 80, ran  # every operation of the document, core and the example plugin's
    assert not failures, f"{len(failures)} operations broke:\n\n" + "\n\n".join(
        f"{label}\n{_short(exc)}" for label, exc in failures.items())


def _short(exc) -> str:
    """Schemathesis' report of the failure (kinds, response, curl to replay), cut where fuzzed input gets long."""
    text = str(exc) if isinstance(exc, FailureGroup) else f"{type(exc).__name__}: {exc}"
    return text if len(text) < 3000 else text[:3000] + " …"


# --- what the run found, pinned so each stays fixed on its own -------------------------------------------------

def test_a_task_not_done_and_made_by_hand_has_nulls_the_document_allows(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha)
    task = client.post("/api/v1/tasks", json={"title": "回访"}, headers=headers).get_json()
    got = client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()
    assert (got["done_at"], got["related_type"], got["related_id"]) == (None, None, None)
    documented = app.test_client().get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Task"]
    assert all(documented["properties"][name].get("nullable") for name in ("done_at", "related_type", "related_id"))


@pytest.mark.parametrize("when", ["2026-01-01T09:00:00+21:32", "2026-01-01T09:00:00-16:00"])
def test_a_time_zone_offset_postgresql_cannot_store_answers_422(two_tenants, api_token, app, when):
    alpha, _ = two_tenants
    client, headers, customer = app.test_client(), api_token(alpha), alpha.customers[0]
    answers = [
        client.get(f"/api/v1/customers/{customer}/timeline", query_string={"before": when}, headers=headers),
        client.post(f"/api/v1/customers/{customer}/interactions", json={"kind": "call", "body": "x",
                                                                         "occurred_at": when}, headers=headers),
        client.post("/api/v1/tasks", json={"title": "x", "due_at": when}, headers=headers),
        client.post("/api/v1/tasks", json={"title": "x", "remind_at": when}, headers=headers),
    ]
    assert [r.status_code for r in answers] == [422] * 4
    assert client.get(f"/api/v1/customers/{customer}/timeline", query_string={"before": "2026-01-01T09:00:00+14:00"},
                      headers=headers).status_code == 200  # Kiribati's +14:00 is real
