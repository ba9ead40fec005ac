"""Owner set-up: the owner finds Plan and billing in the menu when billing is on, and is welcomed (not welcomed
back) the first time they sign in."""
from __future__ import annotations

from sqlalchemy import text


def _zh(system_db, world):
    with system_db.begin() as conn:
        conn.execute(text("UPDATE users SET locale = 'zh_CN' WHERE tenant_id = :t"), {"t": world.id})


def _nav(page: str) -> str:
    return page.split('data-testid="main-nav"', 1)[1].split("</nav>", 1)[0]


def test_the_owner_finds_billing_in_the_menu_when_billing_is_on(two_tenants, login, app, monkeypatch, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    monkeypatch.setattr(app.config["STORECRM"], "stripe_secret_key", "sk_test_storecrm")
    owner = login(alpha, "owner")
    home = owner.get("/t/alpha/").get_data(as_text=True)
    assert 'href="/t/alpha/billing/"' in _nav(home) and "套餐与账单" in _nav(home)
    assert 'data-testid="account-billing.index" ' in home or 'data-testid="account-billing.index"' in home  # user menu
    assert owner.get("/t/alpha/billing/").status_code == 200
    # staff without billing rights see no entry
    advisor = login(alpha, "advisor").get("/t/alpha/").get_data(as_text=True)
    assert "/billing/" not in advisor


def test_a_self_hosted_install_without_billing_shows_no_billing_entry(two_tenants, login, app, monkeypatch):
    alpha, _ = two_tenants
    monkeypatch.setattr(app.config["STORECRM"], "stripe_secret_key", "")
    home = login(alpha, "owner").get("/t/alpha/").get_data(as_text=True)
    assert "/billing/" not in home


def test_the_first_sign_in_says_welcome_and_later_ones_welcome_back(two_tenants, login, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    with system_db.begin() as conn:  # a fresh account, as the owner's is right after signup
        conn.execute(text("UPDATE users SET last_login_at = NULL WHERE tenant_id = :t"), {"t": alpha.id})
    first = login(alpha, "owner").get("/t/alpha/").get_data(as_text=True)
    greeting = first.split('data-testid="greeting"', 1)[1].split("</h1>", 1)[0]
    assert "欢迎" in greeting and "欢迎回来" not in greeting
    again = login(alpha, "owner").get("/t/alpha/").get_data(as_text=True)
    assert "欢迎回来" in again.split('data-testid="greeting"', 1)[1].split("</h1>", 1)[0]
