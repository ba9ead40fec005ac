"""GET /api/v1/customers/{id}/overview reads its lists in one JSON statement: it answers what the ORM objects of the
same reads give (`identities_of`, `assets_of`, `open_tasks_of_customer`, `timeline`), dates, times and money
included, and masks what the role may not see."""
from datetime import datetime, timedelta, timezone


def _history(in_tenant, world):
    from storecrm.activities.models import Interaction, Task
    from storecrm.assets.models import Asset
    from storecrm.customers.models import CustomerIdentity
    from storecrm.fields.models import FieldDefinition

    cid = world.customers[0]
    with in_tenant(world) as session:
        session.add_all([
            FieldDefinition(entity="asset", code="amp_brand", label_zh="功放品牌", label_en="Amp brand", type="text"),
            FieldDefinition(entity="asset", code="cost_price", label_zh="成本价", label_en="Cost price", type="text",
                            visible_roles=["owner"])])
        car = Asset(customer_id=cid, type="vehicle", name="宝马 X3", installed_on=datetime(2025, 3, 4).date(),
                    warranty_until=datetime(2027, 3, 3).date(), custom={"amp_brand": "JBL", "cost_price": "8000"})
        session.add(car)
        session.add(Asset(customer_id=cid, type="device", name="已删除", deleted_at=datetime.now(timezone.utc)))
        session.flush()
        session.add(CustomerIdentity(customer_id=cid, asset_id=car.id, kind="vin", value="LBV3A5109EMA12345"))
        due = datetime(2030, 5, 1, 1, 2, 3, 120000, tzinfo=timezone.utc)  # a fraction PostgreSQL prints as .12
        who = world.users["advisor"]
        session.add_all([Task(customer_id=cid, title="回访：音响效果", due_at=due, notes="周六到店", assignee_id=who),
                         Task(customer_id=cid, title="已过期", due_at=datetime(2020, 1, 1, tzinfo=timezone.utc),
                              assignee_id=who),
                         Task(customer_id=cid, title="已完成", status="done", assignee_id=who)])
        for n in range(25):
            session.add(Interaction(customer_id=cid, kind="call", body=f"第 {n} 次通话",
                                    occurred_at=datetime.now(timezone.utc) - timedelta(hours=n, microseconds=n)))


def _expected(app, world, user_role, client, headers):
    """The overview as the ORM reads gave it before it became one statement."""
    from flask_babel import force_locale

    from storecrm.activities.schemas import TaskSchema
    from storecrm.activities.services import open_tasks_of_customer
    from storecrm.api.resources.activities import OverviewSchema
    from storecrm.assets.services import assets_of
    from storecrm.customers.identities import identities_of
    from storecrm.customers.models import Customer
    from storecrm.customers.timeline import timeline
    from storecrm.extensions import db
    from storecrm.fields.engine import definitions
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.users.models import User

    # the fixtures' chains speak English, as their API answers
    with app.test_request_context(), tenant_context(TenantRef(world.id, world.slug)), force_locale("en"):
        user = db.session.get(User, (world.id, world.users[user_role]))
        customer = db.session.get(Customer, (world.id, world.customers[0]))
        identities = identities_of(customer.id) if user.has_permission("customers.contact") else []
        by_asset = {}
        for identity in identities:
            if identity.asset_id:
                by_asset.setdefault(identity.asset_id, {})[identity.kind] = identity.value
        visible = {d.code for d in definitions("asset", user=user)}
        assets = [{"id": a.id, "type": a.type, "name": a.name, "store_id": a.store_id,
                   "installed_on": a.installed_on, "warranty_until": a.warranty_until,
                   "identifiers": by_asset.get(a.id, {}),
                   "custom": {k: v for k, v in (a.custom or {}).items() if k in visible}}
                  for a in assets_of(customer.id)]
        entries, _next = timeline(customer, limit=20)
        dumped = OverviewSchema().dump({"identities": identities, "assets": assets, "timeline": entries,
                                        "open_tasks": open_tasks_of_customer(customer.id)})
        assert dumped["open_tasks"] == TaskSchema(many=True).dump(open_tasks_of_customer(customer.id))
        return dumped


def test_the_overview_answers_what_the_orm_reads_give(two_tenants, in_tenant, app, api_token):
    alpha, beta = two_tenants
    _history(in_tenant, alpha)
    client = app.test_client()
    for role in ("owner", "advisor"):
        headers = api_token(alpha, role)
        got = client.get(f"/api/v1/customers/{alpha.customers[0]}/overview", headers=headers)
        assert got.status_code == 200
        body = got.get_json()
        expected = _expected(app, alpha, role, client, headers)
        for part in ("identities", "assets", "open_tasks", "timeline"):
            assert body[part] == expected[part], (role, part)
        car = next(a for a in body["assets"] if a["name"] == "宝马 X3")
        assert car["identifiers"] == {"vin": "LBV3A5109EMA12345"} and car["installed_on"] == "2025-03-04"
        assert "已删除" not in [a["name"] for a in body["assets"]]
        assert car["custom"] == ({"amp_brand": "JBL", "cost_price": "8000"} if role == "owner"
                                 else {"amp_brand": "JBL"})
        tasks = {t["title"]: t for t in body["open_tasks"]}
        assert set(tasks) == {"回访：音响效果", "已过期"}
        assert tasks["回访：音响效果"]["due_at"] == "2030-05-01T01:02:03.120000+00:00"
        assert tasks["已过期"]["overdue"] is True and tasks["回访：音响效果"]["overdue"] is False
        assert len(body["timeline"]) == 20
        assert {"task", "interaction:call", "change"} <= {e["kind"] for e in body["timeline"]}
    # another tenant's customer is not found, and the statement finds nothing of it
    assert client.get(f"/api/v1/customers/{beta.customers[0]}/overview",
                      headers=api_token(alpha, "owner")).status_code == 404


def test_the_overview_hides_contact_details_from_roles_without_them(two_tenants, in_tenant, app, api_token):
    from storecrm.access.models import Role

    alpha, _beta = two_tenants
    _history(in_tenant, alpha)
    with in_tenant(alpha) as session:
        from sqlalchemy import select

        advisor = session.scalars(select(Role).where(Role.code == "advisor")).one()
        advisor.permissions = [p for p in advisor.permissions if p != "customers.contact"]
    body = app.test_client().get(f"/api/v1/customers/{alpha.customers[0]}/overview",
                                 headers=api_token(alpha, "advisor")).get_json()
    assert body["identities"] == []
    assert all(a["identifiers"] == {} for a in body["assets"])
    assert body["customer"]["masked"] is True
