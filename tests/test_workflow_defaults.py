"""Workflow defaults a store's day relies on: send back goes to the step the item came from, an item is assigned
only to people who can open its record, and an escalation to a role nobody in the store holds reaches the HQ holder
of the role or the owner — with a warning on the definition for admins."""
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError
from sqlalchemy import text


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _user(world, role):
    from storecrm.extensions import db
    from storecrm.users.models import User

    return db.session.get(User, (world.id, world.users[role]))


def _lead(world, in_tenant, customer_index=0, through=("contact", "visit")):
    """A lead item on one of the world's customers, moved through `through` by the owner."""
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.workflow import engine

    with in_tenant(world):
        if engine.current_definition("lead") is None:
            engine.copy_template(_user(world, "owner"), "lead")
        customer = db.session.get(Customer, (world.id, world.customers[customer_index]))
        item = engine.start(_user(world, "owner"), "customer", customer, "lead")
        for code in through:
            engine.move(_user(world, "owner"), item, code)
        return item.id


def test_send_back_defaults_to_the_state_the_item_came_from(two_tenants, in_tenant, login, api_token, app):
    from storecrm.extensions import db
    from storecrm.workflow import engine
    from storecrm.workflow.models import WorkflowItem

    alpha, beta = two_tenants
    item_id = _lead(alpha, in_tenant)  # new → contacted → visited
    with in_tenant(alpha):
        item = db.session.get(WorkflowItem, (alpha.id, item_id))
        assert engine.rejectable_states(item) == ["new", "contacted"]
        assert engine.send_back_default(item) == "contacted"
    page = login(alpha, "owner").get(f"/t/{alpha.slug}/workflows/items/{item_id}").get_data(as_text=True)
    assert '<option value="contacted" selected>' in page and '<option value="new">' in page
    # the API without to_state sends it to the previous state too
    with app.test_client() as client:
        resp = client.post(f"/api/v1/workflow-items/{item_id}/reject", json={"reason": "not ready"},
                           headers=api_token(alpha, "owner"))
        assert resp.status_code == 200 and resp.get_json()["state"] == "contacted"
        # the other tenant's token does not reach this item
        assert client.post(f"/api/v1/workflow-items/{item_id}/reject", json={"reason": "x"},
                           headers=api_token(beta, "owner")).status_code == 404
    # a loop: contacted → (visit) visited → back → visited again: the previous state is still the last one left
    with in_tenant(alpha):
        item = db.session.get(WorkflowItem, (alpha.id, item_id))
        engine.move(_user(alpha, "owner"), item, "visit")
        engine.reject(_user(alpha, "owner"), item, None, "again")
        assert item.state == "contacted"


def test_only_people_who_can_open_the_record_are_offered_and_accepted_as_assignees(two_tenants, in_tenant, login):
    from storecrm.access.services import save_role
    from storecrm.extensions import db
    from storecrm.users.services import create_user
    from storecrm.workflow import engine, staffing
    from storecrm.workflow.models import WorkflowItem

    alpha, beta = two_tenants
    item_id = _lead(alpha, in_tenant, customer_index=1, through=())  # customer 1 is kept in store two
    with in_tenant(alpha):
        cashier = save_role(None, {"code": "cashier", "name": "Cashier", "permissions": ["stores.view"],
                                   "data_scope": "stores"})
        stores_two = create_user({"display_name": "alpha cashier", "email": "cashier@alpha.test",
                                  "password": "x" * 12, "role_id": cashier.id, "store_ids": [alpha.stores[1]]})
        advisor_two = create_user({"display_name": "alpha advisor two", "email": "advisor2@alpha.test",
                                   "password": "x" * 12, "role_id": alpha.roles["advisor"],
                                   "store_ids": [alpha.stores[1]]})
        item = db.session.get(WorkflowItem, (alpha.id, item_id))
        names = [u.display_name for u in staffing.assignable_staff(item)]
        # HQ (owner, admin) and store two's advisor; not store one's staff, not a role without customers.view
        assert sorted(names) == ["alpha admin", "alpha advisor two", "alpha owner"]
        with pytest.raises(ValidationError) as err:
            engine.assign(_user(alpha, "owner"), item, alpha.users["advisor"])
        assert "assignee_id" in err.value.messages
        with pytest.raises(ValidationError):
            engine.assign(_user(alpha, "owner"), item, stores_two.id)
        with pytest.raises(ValidationError):  # another tenant's user id is nobody here
            engine.assign(_user(alpha, "owner"), item, beta.users["owner"])
        advisor_two_id = advisor_two.id
    owner = login(alpha, "owner")
    page = owner.get(f"/t/{alpha.slug}/workflows/items/{item_id}").get_data(as_text=True)
    assert "alpha advisor two" in page and "alpha cashier" not in page and "alpha technician" not in page
    resp = owner.post(f"/t/{alpha.slug}/workflows/items/{item_id}/assign", {"assignee_id": str(alpha.users["advisor"])})
    assert resp.status_code == 422 and "cannot open this record" in resp.get_data(as_text=True)
    resp = owner.post(f"/t/{alpha.slug}/workflows/items/{item_id}/assign", {"assignee_id": str(advisor_two_id)})
    assert resp.status_code == 302


def _escalate(item_id, step):
    from storecrm.workflow import engine
    from storecrm.workflow.models import WorkflowItem
    from storecrm.extensions import db
    from storecrm.tenancy.context import require_tenant_id

    item = db.session.get(WorkflowItem, (require_tenant_id(), item_id))
    engine.escalate(SimpleNamespace(payload={"item_id": item_id, "entered_at": item.entered_at.isoformat(),
                                             "step": step}))
    return item


def test_an_escalation_to_a_role_missing_in_the_store_reaches_hq_then_the_owner(two_tenants, in_tenant, login,
                                                                                system_db):
    from storecrm.users.services import create_user

    alpha, beta = two_tenants
    item_id = _lead(alpha, in_tenant, customer_index=1, through=())  # store two: no manager there
    with in_tenant(alpha):
        _escalate(item_id, 1)  # notify_role manager
        item = _escalate(item_id, 2)  # reassign to a manager
        assert item.assignee_id == alpha.users["owner"]
    assert _rows(system_db, "SELECT user_id, body FROM notifications WHERE tenant_id = :t ORDER BY id", t=alpha.id)[0] \
        == (alpha.users["owner"], "Escalated to you as Store manager.")
    # an HQ manager (no store of their own) takes the manager's escalations of stores that have none
    with in_tenant(alpha):
        hq = create_user({"display_name": "alpha HQ manager", "email": "hqm@alpha.test", "password": "x" * 12,
                          "role_id": alpha.roles["manager"], "store_ids": []})
        hq_id = hq.id
    with in_tenant(alpha) as s:
        s.execute(text("UPDATE workflow_items SET finished_at = now()"))
    item_id = _lead(alpha, in_tenant, customer_index=1, through=())
    with in_tenant(alpha):
        item = _escalate(item_id, 2)
        assert item.assignee_id == hq_id
    # a store with its own manager keeps it in the store
    item_id = _lead(alpha, in_tenant, customer_index=0, through=())
    with in_tenant(alpha):
        item = _escalate(item_id, 2)
        assert item.assignee_id == alpha.users["manager"]
    assert _rows(system_db, "SELECT count(*) FROM notifications WHERE tenant_id = :t", t=beta.id) == [(0,)]


def test_admins_see_which_roles_nobody_holds_in_which_stores(two_tenants, in_tenant, login):
    from storecrm.users.services import create_user
    from storecrm.workflow import engine, staffing

    alpha, beta = two_tenants
    for world in (alpha, beta):
        with in_tenant(world):
            engine.copy_template(_user(world, "owner"), "lead")
    with in_tenant(beta):  # beta staffs its second store
        create_user({"display_name": "beta manager two", "email": "m2@beta.test", "password": "x" * 12,
                     "role_id": beta.roles["manager"], "store_ids": [beta.stores[1]]})
    with in_tenant(alpha):
        gaps = staffing.coverage_gaps(engine.current_definition("lead"))
        assert [(g.kind, g.role, g.stores, g.fallback) for g in gaps] == \
            [("escalation", "manager", ("ALPHA Store Two",), "owner")]
    page = login(alpha, "admin").get(f"/t/{alpha.slug}/workflows/lead").get_data(as_text=True)
    warning = page[page.index('data-testid="coverage-warning"'):][:600]
    assert "Store manager" in warning and "ALPHA Store Two" in warning and "owner" in warning
    assert "ALPHA Store One" not in warning
    page = login(beta, "admin").get(f"/t/{beta.slug}/workflows/lead").get_data(as_text=True)
    assert 'data-testid="coverage-warning"' not in page
