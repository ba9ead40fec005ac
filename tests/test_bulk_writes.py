"""Set-based writes (tenancy.bulk.insert_rows): every kind of column value arrives as the ORM would write it, defaults
fill what a row does not name, and row-level security refuses another tenant's rows like any INSERT."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def _row(world, new_id, **extra):
    now = datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=timezone.utc)
    return {"tenant_id": world.id, "id": new_id, "name": "王小明", "mobile": "+8613800138000", "store_id": world.stores[0],
            "birthday": date(1990, 2, 28), "created_at": now, "updated_at": now, "kind": "person", "status": "active",
            "tags": ["VIP", "老客户, 转介绍"], "consents": {}, "custom": {"车型": "Model Y", "积分": 12.5, "空": None},
            "lifetime_spend": Decimal("1234.56"), "order_count": 3, "notes": 'a "quote"\\back\nline\ttab', **extra}


def test_rows_arrive_with_every_kind_of_value_and_defaults_fill_the_rest(two_tenants, in_tenant, system_db):
    from storecrm.customers.models import Customer
    from storecrm.tenancy.bulk import insert_rows
    from storecrm.tenancy.models import reserve_ids

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        first, second = reserve_ids(Customer, 2)
        insert_rows(Customer.__table__, [_row(alpha, first), _row(alpha, second, name="李雷", tags=[], notes=None)])
    with system_db.connect() as conn:
        got = conn.execute(text("SELECT name, birthday, created_at, tags, custom, lifetime_spend, order_count, notes, "
                                "average_order_value, deleted_at FROM customers WHERE tenant_id=:t AND id IN (:a, :b) "
                                "ORDER BY id"), {"t": alpha.id, "a": first, "b": second}).all()
    assert got[0] == ("王小明", date(1990, 2, 28), datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=timezone.utc),
                      ["VIP", "老客户, 转介绍"], {"车型": "Model Y", "积分": 12.5, "空": None}, Decimal("1234.56"), 3,
                      'a "quote"\\back\nline\ttab', Decimal("411.52"), None)  # the generated column is computed
    assert (got[1].name, got[1].tags, got[1].notes) == ("李雷", [], None)


def test_a_default_fills_a_column_no_row_names(two_tenants, in_tenant, system_db):
    from storecrm.audit.models import AuditEntry
    from storecrm.tenancy.bulk import insert_rows

    alpha, _ = two_tenants
    with in_tenant(alpha):
        insert_rows(AuditEntry.__table__, [
            {"tenant_id": alpha.id, "at": datetime.now(timezone.utc), "actor_label": "导入", "action": "create",
             "entity_type": "customer", "entity_id": n, "summary": f"客户 {n}", "before": None, "after": {"n": n}}
            for n in (1, 2)])
    with system_db.connect() as conn:
        ids = conn.execute(text("SELECT id FROM audit_log WHERE tenant_id=:t AND actor_label='导入' ORDER BY id"),
                           {"t": alpha.id}).scalars().all()
        before = conn.execute(text("SELECT before IS NULL FROM audit_log WHERE id=:i"), {"i": ids[0]}).scalar()
    assert len(ids) == 2 and ids[0] < ids[1] and before  # identity ids, and JSON null is SQL NULL


def test_row_level_security_refuses_another_tenants_rows_and_nothing_is_written(two_tenants, in_tenant, system_db):
    from storecrm.customers.models import Customer
    from storecrm.tenancy.bulk import insert_rows
    from storecrm.tenancy.models import reserve_ids

    alpha, beta = two_tenants
    with pytest.raises(DBAPIError, match="row-level security"):
        with in_tenant(alpha):
            mine, theirs = reserve_ids(Customer, 2)
            insert_rows(Customer.__table__, [_row(alpha, mine), {**_row(alpha, theirs), "tenant_id": beta.id,
                                                                 "store_id": beta.stores[0]}])
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name='王小明'")).scalar() == 0


def test_a_column_the_table_does_not_have_is_refused_before_anything_is_sent(two_tenants, in_tenant):
    from storecrm.customers.models import Customer
    from storecrm.tenancy.bulk import insert_rows

    alpha, _ = two_tenants
    with in_tenant(alpha):
        with pytest.raises(ValueError, match="no column nmae"):
            insert_rows(Customer.__table__, [{"tenant_id": alpha.id, "nmae": "x"}])


def test_audit_entries_written_in_bulk_hold_dates_and_amounts_as_a_single_entry_does(two_tenants, in_tenant,
                                                                                      system_db):
    from storecrm.audit.services import _jsonable, record_many

    alpha, _ = two_tenants
    after = {"birthday": date(1990, 2, 28), "created_at": datetime(2026, 12, 4, 10, 30, tzinfo=timezone.utc),
             "lifetime_spend": Decimal("0.00"), "tags": ("VIP",), "name": "王小明"}
    with in_tenant(alpha):
        record_many([("create", "customer", 7, "王小明", None, after)])
    with system_db.connect() as conn:
        stored = conn.execute(text("SELECT after FROM audit_log WHERE tenant_id=:t AND entity_id=7"),
                              {"t": alpha.id}).scalar()
    assert stored == {k: _jsonable(v) for k, v in after.items()} == {
        "birthday": "1990-02-28", "created_at": "2026-12-04T10:30:00+00:00", "lifetime_spend": "0.00",
        "tags": ["VIP"], "name": "王小明"}
