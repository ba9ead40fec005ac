"""The workflow engine: transitions by role, required fields and photos, approvals, reject with a reason,
deadlines with escalation through the timers, versioning, and the history."""
from datetime import timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm.testing.fixtures import PASSWORD  # noqa: F401


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _user(world, role):
    from storecrm.extensions import db
    from storecrm.users.models import User

    return db.session.get(User, (world.id, world.users[role]))


def _customer(world, n=0):
    from storecrm.customers.models import Customer
    from storecrm.extensions import db

    return db.session.get(Customer, (world.id, world.customers[n]))


def _item(world, item_id):
    from storecrm.extensions import db
    from storecrm.workflow.models import WorkflowItem

    return db.session.get(WorkflowItem, (world.id, item_id))


def test_lead_moves_by_role_records_history_and_escalates_at_its_deadline(two_tenants, in_tenant, app, system_db):
    from storecrm import timers
    from storecrm.workflow import engine

    alpha, _ = two_tenants
    with in_tenant(alpha):
        engine.copy_template(_user(alpha, "owner"), "lead")
        item = engine.start(_user(alpha, "advisor"), "customer", _customer(alpha), "lead")
        item_id = item.id
        assert item.state == "new" and item.assignee_id == alpha.users["advisor"]
        assert [t["code"] for t in engine.available(_user(alpha, "advisor"), item)] == ["contact", "visit", "lose"]
        with pytest.raises(ValidationError):
            engine.start(_user(alpha, "advisor"), "customer", _customer(alpha), "lead")  # one running item per record
    # the 24-hour deadline passes: the timer fires and reminds the assignee; the next step is armed for +4 h
    with in_tenant(alpha) as s:
        s.execute(text("UPDATE timers SET due_at = now() - interval '1 second'"))
    with app.app_context():
        assert timers.dispatch_due() == 1
    from tests.test_imports import _run_worker

    _run_worker()
    assert _rows(system_db, "SELECT user_id, title FROM notifications") == \
        [(alpha.users["advisor"], "Overdue: ALPHA-customer-0 (New lead)")]
    assert _rows(system_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == [(1,)]
    with in_tenant(alpha):
        item = _item(alpha, item_id)
        assert item.escalation_step == 1
        engine.move(_user(alpha, "advisor"), item, "contact", comment="called, will come Saturday")
        assert item.state == "contacted" and item.deadline_at is not None
    # the old state's pending escalation no longer applies once the item moved on
    with in_tenant(alpha) as s:
        s.execute(text("UPDATE timers SET due_at = now() - interval '1 second' WHERE key LIKE :k"), {"k": "%:1"})
    with app.app_context():
        timers.dispatch_due()
    _run_worker()
    assert _rows(system_db, "SELECT count(*) FROM notifications") == [(1,)]
    steps = _rows(system_db, "SELECT action, from_state, to_state, comment, seconds_in_state IS NOT NULL "
                             "FROM workflow_steps ORDER BY id")
    assert steps == [("start", None, "new", None, False), ("escalate", "new", None, "remind", False),
                     ("move", "new", "contacted", "called, will come Saturday", True)]


def test_roles_conditions_required_fields_and_photos_guard_transitions(two_tenants, in_tenant, app):
    from storecrm.files.models import StoredFile
    from storecrm.workflow import engine

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        from storecrm.assets.models import Asset

        asset = Asset(customer_id=alpha.customers[0], type="car", name="Model 3", store_id=alpha.stores[0],
                      attributes={})
        s.add(asset)
        s.flush()
        engine.copy_template(_user(alpha, "owner"), "install_qc")
        item = engine.start(_user(alpha, "manager"), "asset", asset, "install_qc")
        advisor, tech = _user(alpha, "advisor"), _user(alpha, "technician")
        assert engine.available(advisor, item) == []  # only technicians and managers start the work
        with pytest.raises(ValidationError) as err:
            engine.move(advisor, item, "begin")
        assert "transition" in err.value.messages
        engine.move(tech, item, "begin")
        with pytest.raises(ValidationError) as err:
            engine.move(tech, item, "to_qc")
        assert err.value.messages == {"files": ["Add at least one photo for this step."]}
        photo = StoredFile(filename="done.jpg", content_type="image/jpeg", size=10, key="x/done.jpg",
                           uploaded_by=tech.id)
        s.add(photo)
        s.flush()
        engine.move(tech, item, "to_qc", files=[photo.id])
        # QC rejects back to installing: a reason is required, and only states it went through are allowed
        manager = _user(alpha, "manager")
        assert engine.rejectable_states(item) == ["scheduled", "installing"]
        with pytest.raises(ValidationError) as err:
            engine.reject(manager, item, "installing", "  ")
        assert "reason" in err.value.messages
        with pytest.raises(ValidationError):
            engine.reject(manager, item, "delivered", "not yet there")
        engine.reject(manager, item, "installing", "gap at the door trim")
        assert item.state == "installing"
        assert [(h.action, h.comment) for h, _name in engine.history(item)][-1] == ("reject", "gap at the door trim")


def test_amount_tiers_quorum_and_decline(two_tenants, in_tenant, app, system_db):
    from storecrm.workflow import engine

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        for n in range(3):
            _customer(alpha, n).store_id = alpha.stores[0]  # where the advisor works
        definition = engine.copy_template(_user(alpha, "owner"), "quote_approval")
        advisor, manager, owner = (_user(alpha, r) for r in ("advisor", "manager", "owner"))
        results = {}
        for n, amount in enumerate((3000, 20000, 60000)):
            customer = _customer(alpha, n)
            item = engine.start(advisor, "customer", customer, "quote_approval")
            with pytest.raises(ValidationError) as err:
                engine.move(advisor, item, "submit")  # the amount is required for this step
            assert "values.custom.quote_amount" in err.value.messages
            engine.move(advisor, item, "submit", values={"custom.quote_amount": amount})
            results[amount] = item
        assert results[3000].state == "approved" and results[3000].pending is None  # below every tier
        assert results[20000].state == "draft" and results[20000].pending["chain"] == [["manager"]]
        assert not engine.awaiting(advisor, results[20000])  # nobody approves their own request
        engine.vote(manager, results[20000], True)
        assert results[20000].state == "approved"
        big = results[60000]
        assert big.pending["chain"] == [["manager"], ["owner"]]
        assert not engine.awaiting(owner, big)  # the owner's step comes after the manager's
        with pytest.raises(ValidationError) as err:
            engine.vote(manager, big, False, "")
        assert "comment" in err.value.messages
        engine.vote(manager, big, True)
        engine.vote(owner, big, False, "discount too deep")
        assert big.state == "draft" and big.pending is None
        # N-of-M: a new version needing two managers; running items keep the version they started with
        spec = dict(definition.spec)
        spec["transitions"] = [dict(t) for t in spec["transitions"]]
        spec["transitions"][0]["approval"] = {"mode": "quorum", "roles": ["manager", "owner"], "n": 2}
        v2 = engine.save_definition(owner, "quote_approval", "customer", definition.name, spec)
        assert v2.version == 2 and engine.definition_of(big).version == 1
        assert engine.definition_of(big).spec["transitions"][0]["approval"]["mode"] == "tiers"
    with in_tenant(alpha) as s:
        from storecrm.workflow.models import WorkflowItem

        for item in s.scalars(select(WorkflowItem)):
            if item.state != "draft":
                engine.move(_user(alpha, "advisor"), item, "send")
        newcomer = s.scalar(select(WorkflowItem).where(WorkflowItem.state == "draft"))
        newcomer.finished_at = newcomer.entered_at  # leave room for a new run on this customer
        s.flush()
        item = engine.start(_user(alpha, "advisor"), "customer", _customer(alpha, 2), "quote_approval")
        assert engine.definition_of(item).version == 2
        engine.move(_user(alpha, "advisor"), item, "submit")
        engine.vote(_user(alpha, "manager"), item, True)
        assert item.state == "draft" and len(item.pending["votes"]) == 1
        engine.vote(_user(alpha, "owner"), item, True)
        assert item.state == "approved"
    votes = _rows(system_db, "SELECT action FROM workflow_steps WHERE action IN ('request','approve','decline')")
    assert len(votes) >= 8


def test_bad_definitions_are_refused_with_the_place_of_the_error(two_tenants, in_tenant, app):
    from storecrm.workflow import engine

    alpha, _ = two_tenants
    good = {"initial": "a", "states": [{"code": "a", "label": "A"}, {"code": "b", "label": "B", "final": True}],
            "transitions": [{"code": "go", "label": "Go", "from": ["a"], "to": "b"}]}
    with in_tenant(alpha):
        owner = _user(alpha, "owner")
        cases = [
            ({**good, "initial": "z"}, "initial"),
            ({**good, "transitions": [{"code": "go", "label": "Go", "from": ["a"], "to": "nowhere"}]}, "transitions.0.to"),
            ({**good, "transitions": [{"code": "go", "label": "Go", "from": ["a"], "to": "b", "roles": ["pope"]}]},
             "transitions.0.roles"),
            ({**good, "transitions": [{"code": "go", "label": "Go", "from": ["a"], "to": "b",
                                       "approval": {"mode": "tiers", "amount_field": "name",
                                                    "tiers": [{"above": 1, "steps": [["manager"]]}]}}]},
             "transitions.0.approval"),
            ({**good, "states": [{"code": "a", "label": "A"}]}, "states"),
            ({**good, "transitions": [{"code": "go", "label": "Go", "from": ["a"], "to": "b",
                                       "condition": {"field": "nope", "op": "eq", "value": 1}}]},
             "transitions.0.condition"),
        ]
        for spec, key in cases:
            with pytest.raises(ValidationError) as err:
                engine.save_definition(owner, "x", "customer", "X", spec, is_new=True)
            flat = str(err.value.messages)
            assert key.split(".")[0] in flat, (key, err.value.messages)
        assert engine.save_definition(owner, "x", "customer", "X", good, is_new=True).version == 1
