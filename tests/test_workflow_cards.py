"""Approvals with the facts: an item's card shows the record by its title and the fields its definition chose
(the amount of a quote), in the queue, on the item page and in the approval request; acting on an item says so and
marks its notifications read."""
import re

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _user(world, role):
    from storecrm.extensions import db
    from storecrm.users.models import User

    return db.session.get(User, (world.id, world.users[role]))


def _quote_waiting_for_the_manager(world, in_tenant, name="钱多多", amount=12000, admin=None):
    """A quote of `amount` for a customer of store one, submitted by the advisor: it waits for the manager.
    The template is copied by `admin` (a logged-in browser, in its language) or by the service in English."""
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.workflow import engine

    if admin is not None:
        assert admin.post(f"/t/{world.slug}/workflows/copy/quote_approval").status_code == 302
    with in_tenant(world):
        customer = db.session.get(Customer, (world.id, world.customers[0]))
        customer.name, customer.store_id = name, world.stores[0]
        if admin is None:
            engine.copy_template(_user(world, "owner"), "quote_approval")
        item = engine.start(_user(world, "advisor"), "customer", customer, "quote_approval")
        engine.move(_user(world, "advisor"), item, "submit", values={"custom.quote_amount": amount})
        assert item.pending is not None
        return item.id, customer.id


def test_the_approval_request_names_the_customer_and_the_amount_everywhere(two_tenants, in_tenant, login, app,
                                                                            system_db):
    alpha, beta = two_tenants
    item_id, customer_id = _quote_waiting_for_the_manager(alpha, in_tenant)
    _quote_waiting_for_the_manager(beta, in_tenant, name="BETA person", amount=999999)
    # the manager's bell: the customer's name in the title, the amount and the store in the text
    title, body = _rows(system_db, "SELECT title, body FROM notifications WHERE tenant_id = :t AND user_id = :u",
                        t=alpha.id, u=alpha.users["manager"])[0]
    assert title == "Approval needed: 钱多多"
    assert "Quote amount: CN¥12,000.00" in body and "Store: ALPHA Store One" in body
    assert "BETA" not in body
    manager = login(alpha, "manager")
    # the queue (inbox) card
    queue = manager.get(f"/t/{alpha.slug}/workflows/queue").get_data(as_text=True)
    assert "钱多多" in queue and "CN¥12,000.00" in queue and "999,999" not in queue
    # the item page: the approval card with the facts, the customer by name and never by id
    page = manager.get(f"/t/{alpha.slug}/workflows/items/{item_id}").get_data(as_text=True)
    card = page[page.index('data-testid="approval"'):]
    assert "钱多多" in card and "CN¥12,000.00" in card and "ALPHA Store One" in card
    assert f"#{customer_id}" not in page
    # approving says so, and the approval request in the manager's bell is read
    resp = manager.post(f"/t/{alpha.slug}/workflows/items/{item_id}/vote", {"decision": "approve"},
                        follow_redirects=True)
    assert resp.status_code == 200 and "You approved it." in resp.get_data(as_text=True)
    assert _rows(system_db, "SELECT read_at IS NOT NULL FROM notifications WHERE tenant_id = :t AND user_id = :u",
                 t=alpha.id, u=alpha.users["manager"]) == [(True,)]
    # the other tenant's manager still has theirs unread
    assert _rows(system_db, "SELECT read_at IS NULL FROM notifications WHERE tenant_id = :t", t=beta.id) == [(True,)]


def test_the_card_speaks_the_users_language(make_tenant, in_tenant, login):
    zh = make_tenant("zhong", locale="zh_CN")
    item_id, _customer = _quote_waiting_for_the_manager(zh, in_tenant, amount=60000, admin=login(zh, "owner"))
    manager = login(zh, "manager")
    page = manager.get(f"/t/{zh.slug}/workflows/items/{item_id}").get_data(as_text=True)
    card = page[page.index('data-testid="approval"'):]
    assert "报价金额" in card and "60,000.00" in card and "钱多多" in card
    resp = manager.post(f"/t/{zh.slug}/workflows/items/{item_id}/vote", {"decision": "approve"}, follow_redirects=True)
    assert "您已批准。" in resp.get_data(as_text=True)


def test_moving_sending_back_and_assigning_each_say_what_happened(two_tenants, in_tenant, login, system_db):
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.workflow import engine

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        customer = db.session.get(Customer, (alpha.id, alpha.customers[0]))
        engine.copy_template(_user(alpha, "owner"), "lead")
        item_id = engine.start(_user(alpha, "owner"), "customer", customer, "lead").id
    owner = login(alpha, "owner")
    base = f"/t/{alpha.slug}/workflows/items/{item_id}"
    resp = owner.post(f"{base}/move", {"transition": "contact"}, follow_redirects=True)
    assert "Done. The item is now at: Contacted." in resp.get_data(as_text=True)
    resp = owner.post(f"{base}/reject", {"reason": "wrong number"}, follow_redirects=True)
    assert "Sent back to: New lead." in resp.get_data(as_text=True)
    resp = owner.post(f"{base}/assign", {"assignee_id": str(alpha.users["manager"])}, follow_redirects=True)
    assert "Assigned to alpha manager." in resp.get_data(as_text=True)


def test_card_fields_are_chosen_per_definition_and_checked_against_the_entity(two_tenants, in_tenant, login):
    from storecrm.workflow import cards, engine

    alpha, beta = two_tenants
    good = {"initial": "a", "states": [{"code": "a", "label": "A"}, {"code": "b", "label": "B", "final": True}],
            "transitions": [{"code": "go", "label": "Go", "from": ["a"], "to": "b"}]}
    with in_tenant(alpha):
        owner = _user(alpha, "owner")
        with pytest.raises(ValidationError) as err:
            engine.save_definition(owner, "x", "customer", "X", {**good, "card_fields": ["level", "mileage"]},
                                   is_new=True)
        assert err.value.messages == {"card_fields": ["Unknown field: mileage"]}
        saved = engine.save_definition(owner, "x", "customer", "X", {**good, "card_fields": ["level", "city"]},
                                       is_new=True)
        assert cards.card_fields(saved) == ["level", "city"]
        # without a choice: the store (and approval amounts) by default
        plain = engine.save_definition(owner, "y", "customer", "Y", good, is_new=True)
        assert "card_fields" not in plain.spec and cards.card_fields(plain) == ["store_id"]
    # the editor shows and saves the choice
    browser = login(alpha, "owner")
    page = browser.get(f"/t/{alpha.slug}/workflows/x/edit").get_data(as_text=True)
    assert re.search(r'<option value="city" selected>', page)
    form = {"name": "X", "code": "x", "active": "on", "initial": "a", "state_count": "2", "transition_count": "1",
            "states.0.code": "a", "states.0.label": "A", "states.1.code": "b", "states.1.label": "B",
            "states.1.final": "on", "transitions.0.code": "go", "transitions.0.label": "Go",
            "transitions.0.from": "a", "transitions.0.to": "b", "card_fields": ["level", "nope"]}
    resp = browser.post(f"/t/{alpha.slug}/workflows/x/edit", form)
    assert resp.status_code == 422 and "Facts on the card" in resp.get_data(as_text=True)
    resp = browser.post(f"/t/{alpha.slug}/workflows/x/edit", {**form, "card_fields": ["level"]})
    assert resp.status_code == 302
    with in_tenant(alpha):
        assert cards.card_fields(engine.current_definition("x")) == ["level"]
    with in_tenant(beta):
        assert engine.current_definition("x") is None


def test_an_asset_is_titled_by_its_name_and_plate(two_tenants, in_tenant, api_token, app):
    from storecrm.assets.models import Asset
    from storecrm.customers.models import Customer, CustomerIdentity
    from storecrm.extensions import db
    from storecrm.workflow import engine

    alpha, _beta = two_tenants
    with in_tenant(alpha) as s:
        customer = db.session.get(Customer, (alpha.id, alpha.customers[0]))
        asset = Asset(customer_id=customer.id, type="vehicle", name="比亚迪 汉", store_id=alpha.stores[0],
                      attributes={})
        s.add(asset)
        s.flush()
        s.add(CustomerIdentity(customer_id=customer.id, asset_id=asset.id, kind="plate", value="沪G84804"))
        s.flush()
        engine.copy_template(_user(alpha, "owner"), "install_qc")
        item = engine.start(_user(alpha, "manager"), "asset", asset, "install_qc")
        item_id, customer_name = item.id, customer.name
        assert item.title == "比亚迪 汉 · 沪G84804"
    with app.test_client() as client:
        body = client.get(f"/api/v1/workflow-items/{item_id}", headers=api_token(alpha, "manager")).get_json()
    assert body["title"] == "比亚迪 汉 · 沪G84804"
    assert any(f["value"] == customer_name for f in body["card"])
