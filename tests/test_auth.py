"""Signing in and out, sessions, password reset, rate limits, CSRF, headers."""
import re

from sqlalchemy import select, text

from storecrm.testing.fixtures import PASSWORD


def test_staff_sign_in_with_email_or_any_mobile_format(two_tenants, browser, in_tenant):
    alpha, _ = two_tenants
    from storecrm.users.models import User

    with in_tenant(alpha) as session:
        session.get(User, (alpha.id, alpha.users["advisor"])).mobile = "+8613900139000"
    for login_name in ("advisor@alpha.test", "ADVISOR@alpha.test", "139 0013 9000", "+86 13900139000"):
        b = browser()
        b.get("/t/alpha/login")
        resp = b.post("/t/alpha/login", {"login": login_name, "password": PASSWORD})
        assert resp.status_code == 302, login_name
        assert resp.headers["Location"] == "/t/alpha/"


def test_wrong_password_and_other_tenants_credentials_fail(two_tenants, browser):
    b = browser()
    b.get("/t/alpha/login")
    assert b.post("/t/alpha/login", {"login": "owner@alpha.test", "password": "nope"}).status_code == 401
    assert b.post("/t/alpha/login", {"login": "owner@beta.test", "password": PASSWORD}).status_code == 401
    assert b.post("/t/alpha/login", {"login": "", "password": ""}).status_code == 401


def test_login_rotates_the_session_and_logout_ends_it_server_side(two_tenants, browser, system_db):
    b = browser()
    b.get("/t/alpha/login")
    b.client.get("/lang/en")
    pre_cookie = b.client.get_cookie("storecrm_session").value
    b.post("/t/alpha/login", {"login": "owner@alpha.test", "password": PASSWORD})
    post_cookie = b.client.get_cookie("storecrm_session").value
    assert pre_cookie != post_cookie
    assert b.get("/t/alpha/stores/").status_code == 200
    stolen = post_cookie
    b.get("/t/alpha/")
    b.post("/t/alpha/logout")
    # the old cookie, replayed, no longer signs anyone in
    other = browser()
    other.client.set_cookie("storecrm_session", stolen, domain="localhost")
    assert other.get("/t/alpha/stores/").status_code == 302
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_sessions WHERE revoked_at IS NULL")).scalar() == 0


def test_logout_everywhere_ends_every_session_of_the_user(two_tenants, login):
    alpha, _ = two_tenants
    phone, laptop = login(alpha, "manager"), login(alpha, "manager")
    assert phone.get("/t/alpha/").status_code == 200
    laptop.post("/t/alpha/logout-everywhere")
    assert phone.get("/t/alpha/").status_code == 302


def test_deactivating_a_user_ends_their_sessions(two_tenants, login):
    alpha, _ = two_tenants
    tech = login(alpha, "technician")
    admin = login(alpha, "admin")
    admin.get(f"/t/alpha/users/{alpha.users['technician']}")
    resp = admin.post(f"/t/alpha/users/{alpha.users['technician']}", {
        "display_name": "Tech", "email": "technician@alpha.test", "role_id": str(alpha.roles["technician"]),
        "store_ids": str(alpha.stores[0])})  # no "active": the box is unticked
    assert resp.status_code == 302
    assert tech.get("/t/alpha/").status_code == 302


def test_password_reset_by_email_works_once(two_tenants, browser, app, caplog):
    import logging

    from dramatiq import Worker

    from storecrm.jobs import broker

    caplog.set_level(logging.INFO, logger="storecrm.mail")
    b = browser()
    b.get("/t/alpha/forgot")
    assert b.post("/t/alpha/forgot", {"login": "advisor@alpha.test"}).status_code == 302
    assert b.post("/t/alpha/forgot", {"login": "nobody@alpha.test"}).status_code == 302  # same answer
    worker = Worker(broker, worker_timeout=100)
    worker.start()
    broker.join("default")
    worker.join()
    worker.stop()
    mails = [r.getMessage() for r in caplog.records if r.name == "storecrm.mail"]
    assert len(mails) == 1 and "advisor@alpha.test" in mails[0]
    with app.app_context():  # sent through the outbox, and the link (a credential) is not kept there
        from storecrm.notifications.models import OutboxMessage
        from storecrm.tenancy.scoping import unscoped

        with unscoped(reason="test reads the outbox") as system:
            assert [(m.status, m.body) for m in system.scalars(select(OutboxMessage))] == [("sent", "")]
    link = re.search(r"http://localhost(/t/alpha/reset/\S+)", mails[0]).group(1)
    assert b.get(link).status_code == 200
    short = b.post(link, {"password": "short", "password_confirm": "short"})
    assert short.status_code == 422
    ok = b.post(link, {"password": "a-brand-new-secret", "password_confirm": "a-brand-new-secret"})
    assert ok.status_code == 302
    assert b.get(link).status_code == 400  # used once
    # the token is bound to its tenant
    assert b.get(link.replace("/t/alpha/", "/t/beta/")).status_code == 400
    b.get("/t/alpha/login")
    assert b.post("/t/alpha/login", {"login": "advisor@alpha.test", "password": "a-brand-new-secret"}).status_code == 302


def test_login_is_rate_limited_per_login_name(two_tenants, browser, app):
    settings = app.config["STORECRM"]
    settings.login_rate_limit = "3 per minute"
    try:
        b = browser()
        b.get("/t/alpha/login")
        codes = [b.post("/t/alpha/login", {"login": "owner@alpha.test", "password": "bad"}).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        # even the right password is refused while limited
        assert b.post("/t/alpha/login", {"login": "owner@alpha.test", "password": PASSWORD}).status_code == 429
    finally:
        settings.login_rate_limit = "1000 per minute"


def test_forms_without_csrf_token_are_refused(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    resp = b.post("/t/alpha/stores/new", {"code": "X1", "name": "No token"}, csrf=False)
    assert resp.status_code == 400
    resp = b.client.post("/t/alpha/login", data={"login": "owner@alpha.test", "password": PASSWORD})
    assert resp.status_code == 400
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stores WHERE code = 'X1'")).scalar() == 0


def test_security_headers_and_cookie_flags(two_tenants, browser):
    b = browser()
    resp = b.get("/t/alpha/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    login_resp = b.post("/t/alpha/login", {"login": "owner@alpha.test", "password": PASSWORD})
    cookie = login_resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_unknown_tenant_and_unknown_page_are_404_without_500(two_tenants, browser):
    b = browser()
    assert b.get("/t/nowhere/login").status_code == 404
    assert b.get("/t/alpha/nothing-here").status_code == 404
    assert b.get("/t/alpha/stores/99999999999999999999999").status_code in (302, 404)


def test_open_redirect_after_login_is_refused(two_tenants, browser):
    b = browser()
    b.get("/t/alpha/login")
    resp = b.post("/t/alpha/login?next=//evil.example/x", {"login": "owner@alpha.test", "password": PASSWORD})
    assert resp.headers["Location"] == "/t/alpha/"
