"""Bad input on every form gives field errors in the user's language and writes nothing."""
import pytest
from sqlalchemy import text

from tests.test_cross_tenant import snapshot

EN = {"required": "This field is required.", "phone": "Not a valid phone number."}
ZH = {"required": "此项必填。", "phone": "不是有效的电话号码。"}

# path (under /t/alpha), bad form, expected field errors
CASES = [
    ("/stores/new", {"code": "", "name": "", "phone": "12", "opens_at": "25:00", "closes_at": "x"},
     ["code", "name", "phone", "opens_at", "closes_at"]),
    ("/stores/new", {"code": "bad code!", "name": "x", "opens_at": "18:00", "closes_at": "09:00"},
     ["code", "closes_at"]),
    ("/users/new", {"display_name": "", "email": "not-an-email", "mobile": "abc", "role_id": "x", "password": "1"},
     ["display_name", "email", "mobile", "role_id"]),
    ("/users/new", {"display_name": "Li", "role_id": "999999", "password": "long-enough-pw"}, ["email"]),
    ("/users/new", {"display_name": "Li", "email": "li@alpha.test", "role_id": "999999", "password": "short"},
     ["role_id", "password"]),
    ("/roles/new", {"code": "Bad Code", "name": "", "permissions": "no.such.permission"}, ["code", "name"]),
    ("/customers/new", {"name": "", "mobile": "123", "email": "x@", "birthday": "2100-01-01x", "gender": "Q",
                        "store_id": ""}, ["name", "mobile", "email", "birthday", "gender", "store_id"]),
    ("/settings/", {"name": "", "locale": "fr", "timezone": "Mars/Base", "currency": "XXX"},
     ["name", "locale", "timezone", "currency"]),
]


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("path,form,fields", CASES)
def test_bad_form_input_is_refused_with_field_errors(path, form, fields, locale, two_tenants, login, system_db,
                                                     in_tenant):
    alpha, _ = two_tenants
    from storecrm.users.models import User

    with in_tenant(alpha) as session:
        session.get(User, (alpha.id, alpha.users["owner"])).locale = locale
    b = login(alpha, "owner")
    before = snapshot(system_db, alpha.id)
    b.get("/t/alpha" + path)
    resp = b.post("/t/alpha" + path, form)
    assert resp.status_code == 422, resp.status_code
    html = resp.get_data(as_text=True)
    for field in fields:
        assert f'data-error-for="{field}"' in html, field
    expected = ZH if locale == "zh_CN" else EN
    if any(form.get(f) == "" for f in ("name", "code", "display_name")):
        assert expected["required"] in html
    if form.get("mobile") or form.get("phone"):
        assert expected["phone"] in html
    if locale == "zh_CN":
        assert "请修正标记的字段" in html
    after = snapshot(system_db, alpha.id)
    assert after == before  # nothing written, not even an audit entry


def test_duplicate_store_code_and_staff_login_are_refused(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/stores/new")
    resp = b.post("/t/alpha/stores/new", {"code": "s1", "name": "Dup"})
    assert resp.status_code == 422 and 'data-error-for="code"' in resp.get_data(as_text=True)
    resp = b.post("/t/alpha/users/new", {"display_name": "Dup", "email": "advisor@alpha.test",
                                         "role_id": "1", "password": "long-enough-pw"})
    assert resp.status_code == 422 and 'data-error-for="email"' in resp.get_data(as_text=True)


def test_api_bad_input_is_problem_json_with_field_errors(two_tenants, api_token, app, system_db):
    alpha, _ = two_tenants
    headers = {**api_token(alpha, "owner"), "Accept-Language": "en"}
    client = app.test_client()
    before = snapshot(system_db, alpha.id)
    for path, body in [("/api/v1/stores", {"code": "", "name": 5, "phone": "1"}),
                       ("/api/v1/customers", {"name": "", "mobile": "12", "store_id": "abc"}),
                       ("/api/v1/users", {"display_name": "x", "role_id": "x"}),
                       ("/api/v1/tokens", {"name": ""})]:
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code == 422, (path, resp.status_code, resp.get_data(as_text=True))
        assert resp.mimetype == "application/problem+json"
        problem = resp.get_json()
        assert problem["status"] == 422 and problem["errors"], problem
    resp = client.post("/api/v1/stores", data="not json", headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code in (400, 422)
    resp = client.get("/api/v1/customers?per_page=100000", headers=headers)
    assert resp.status_code == 422 and "per_page" in resp.get_json()["errors"]
    resp = client.get("/api/v1/customers/99999999999999999999999", headers=headers)
    assert resp.status_code == 404
    after = snapshot(system_db, alpha.id)
    assert {k: v for k, v in after.items() if k != "api_tokens"} == \
           {k: v for k, v in before.items() if k != "api_tokens"}


def test_api_errors_follow_the_users_language(two_tenants, api_token, app, in_tenant):
    alpha, _ = two_tenants
    from storecrm.users.models import User

    with in_tenant(alpha) as session:
        session.get(User, (alpha.id, alpha.users["owner"])).locale = "zh_CN"
    resp = app.test_client().post("/api/v1/customers", json={"name": "", "store_id": alpha.stores[0]},
                                  headers=api_token(alpha, "owner"))
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["name"] == ["此项必填。"]


def test_api_without_token_is_401_problem(app, two_tenants):
    resp = app.test_client().get("/api/v1/me")
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    resp = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer sct_1_1_nope"})
    assert resp.status_code == 401
    resp = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer sct_99999999999999999999_1_x"})
    assert resp.status_code == 401


def test_nothing_is_written_when_a_request_fails(two_tenants, login, system_db):
    alpha, _ = two_tenants
    with system_db.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM audit_log")).scalar()
    b = login(alpha, "owner")
    b.get("/t/alpha/customers/new")
    b.post("/t/alpha/customers/new", {"name": "Valid name", "store_id": "abc"})
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name = 'Valid name'")).scalar() == 0
        # only the login itself was audited
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == before + 1


NASTY = ["", "   ", "x" * 5000, "\x00", "😀", "-1", "0", "99999999999999999999", "<script>alert(1)</script>",
         "'; DROP TABLE stores; --", "2026-02-30", "25:61", "true"]
FORM_FIELDS = {
    "/stores/new": ["code", "name", "phone", "province", "city", "address", "opens_at", "closes_at", "active"],
    "/users/new": ["display_name", "email", "mobile", "role_id", "store_ids", "locale", "password", "active"],
    "/roles/new": ["code", "name", "permissions", "data_scope"],
    "/customers/new": ["name", "mobile", "email", "gender", "birthday", "city", "address", "source", "notes",
                       "store_id"],
    "/settings/": ["name", "locale", "timezone", "currency"],
    "/tokens": ["name"],
    "/account": ["current_password", "password", "password_confirm"],
    "/forgot": ["login"],
    "/store": ["store_id", "next"],
    "/language": ["locale", "next"],
    "/fields/new": ["entity", "code", "label_zh", "label_en", "type", "options", "position", "help"],
    "/webhooks/": ["url", "description", "events"],
    "/message-templates/task.reminder": ["subject_zh", "subject_en", "body_zh", "body_en"],
    "/notifications/read-all": ["next"],
    "/workflows/new": ["name", "code", "initial", "state_count", "transition_count", "states.0.code", "states.0.label",
                       "states.0.deadline_hours", "states.0.escalation.0.action", "states.0.escalation.0.after_hours",
                       "states.0.escalation.0.role", "transitions.0.code", "transitions.0.from", "transitions.0.to",
                       "transitions.0.roles", "transitions.0.required_fields", "transitions.0.approval_mode",
                       "transitions.0.approval_n", "transitions.0.amount_field", "transitions.0.tiers.0.above",
                       "transitions.0.tiers.0.steps", "transitions.0.condition_json"],
    "/workflows/start": ["entity", "record_id", "workflow"],
    "/automation/new": ["name", "entity", "run_hour", "enabled", "trigger.type", "trigger.event", "trigger.field",
                        "trigger.to", "trigger.offset_days", "trigger.months", "trigger.km", "trigger.value",
                        "trigger.days", "trigger.kinds", "match", "rows.0.field", "rows.0.op", "rows.0.value",
                        "conditions_json", "action_count", "actions.0.type", "actions.0.channel", "actions.0.to",
                        "actions.0.subject", "actions.0.body", "actions.0.title", "actions.0.due_in_days",
                        "actions.0.field", "actions.0.value", "actions.0.endpoint_id", "actions.0.action",
                        "actions.0.params"],
}
OPTIONAL_ONLY = ("/store", "/language", "/forgot", "/message-templates/task.reminder", "/notifications/read-all")


@pytest.mark.parametrize("path", sorted(FORM_FIELDS))
def test_no_form_input_causes_a_server_error(path, two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/")
    for value in NASTY:
        resp = b.post("/t/alpha" + path, {name: value for name in FORM_FIELDS[path]})
        assert resp.status_code < 500, (path, value, resp.status_code)
        if value in ("", "\x00") and path not in OPTIONAL_ONLY:
            assert resp.status_code in (400, 422), (path, value, resp.status_code)


@pytest.mark.parametrize("path", ["/api/v1/stores", "/api/v1/customers", "/api/v1/users", "/api/v1/tokens",
                                  "/api/v1/assets", "/api/v1/tasks", "/api/v1/fields", "/api/v1/webhooks",
                                  "/api/v1/notifications/read-all", "/api/v1/workflows", "/api/v1/workflow-items",
                                  "/api/v1/rules", "/api/v1/rules/preview"])
def test_no_api_input_causes_a_server_error(path, two_tenants, api_token, app):
    alpha, _ = two_tenants
    headers = api_token(alpha, "owner")
    client = app.test_client()
    keys = ["code", "name", "phone", "opens_at", "closes_at", "store_id", "mobile", "email", "birthday", "role_id",
            "store_ids", "display_name", "password", "active", "gender", "customer_id", "type", "custom",
            "identifiers", "title", "due_at", "remind_at", "assignee_id", "url", "events", "entity", "label_zh",
            "label_en", "options", "trigger", "conditions", "actions", "spec", "template", "workflow", "record_id",
            "enabled", "run_hour"]
    bodies = [{k: v for k in keys} for v in NASTY + [None, 12, -5, 2**70, [], {}, 1.5, True]]
    bodies += [[], "string", 5, None]
    for body in bodies:
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code < 500, (path, body, resp.status_code, resp.get_data(as_text=True)[:300])
    for query in ("?page=0", "?page=x", "?per_page=-1", "?after_id=-1", "?q=" + "x" * 500, "?store_id=1e99",
                  "?sort=sideways", "?cf=x", "?cf=budget=%00", "?entity=" + "e" * 100, "?before_id=-3"):
        resp = client.get(path + query, headers=headers)
        assert resp.status_code < 500, (path, query, resp.status_code)


def test_no_template_or_file_input_causes_a_server_error(two_tenants, api_token, app):
    import io

    alpha, _ = two_tenants
    headers = api_token(alpha, "owner")
    client = app.test_client()
    for body in [{f: v for f in ("subject_zh", "subject_en", "body_zh", "body_en")}
                 for v in NASTY + ["{", "}", "{0}", "{x!r}", "{task_title:>{9999}}", None, 12, []]] + [[], "s", None]:
        resp = client.put("/api/v1/message-templates/task.reminder", json=body, headers=headers)
        assert resp.status_code < 500, (body, resp.status_code, resp.get_data(as_text=True)[:300])
    assert client.put("/api/v1/message-templates/nope", json={}, headers=headers).status_code == 404
    for data, name in [(b"", "x.jpg"), (b"\x00" * 10, "x.png"), (b"GIF89a" + b"\x00" * 20, "x.gif"),
                       (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "x.png"), (b"PK\x03\x04junk", "x.xlsx"),
                       ("文本".encode("gb18030"), "x.txt"), (b"%PDF-", "../../etc/passwd")]:
        resp = client.post("/api/v1/files", data={"file": (io.BytesIO(data), name)}, headers=headers,
                           content_type="multipart/form-data")
        assert resp.status_code in (201, 422), (name, resp.status_code, resp.get_data(as_text=True)[:300])
