"""Reusable isolation checks (schema rules, RLS, ORM scope); plugin test suites can call them too."""
from __future__ import annotations

from sqlalchemy import text

PLATFORM_TABLES = {"tenants", "alembic_version", "plans", "tenant_accounts", "billing_events", "operators",
                   "operator_sessions", "operator_audit", "tenant_exports"}


def tenant_tables(conn, only: set[str] | None = None) -> list[str]:
    """Every tenant table in the database (plugins' included), or those of `only`."""
    return [r[0] for r in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
        if r[0] not in PLATFORM_TABLES and not r[0].startswith("alembic_version")
        and (only is None or r[0] in only)]


def schema_violations(conn, only: set[str] | None = None) -> list[str]:
    """Every way a tenant table breaks the tenancy rules of DESIGN.md (all tables, or those of `only`)."""
    problems = []
    for table in tenant_tables(conn, only):
        cols = [r[0] for r in conn.execute(text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int[], a.attnum::int)"), {"t": f'public."{table}"'})]
        if not cols or cols[0] != "tenant_id":
            problems.append(f"{table}: primary key {cols} does not lead with tenant_id")
        # foreign keys to other tenant tables must include tenant_id at the same position
        for name, local, remote_table, remote in conn.execute(text(
            "SELECT c.conname, "
            " array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) "
            "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), "
            " c.confrelid::regclass::text, "
            " array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o) "
            "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) "
            "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = CAST(:t AS regclass)"),
                {"t": f'public."{table}"'}):
            remote_table = remote_table.strip('"')
            if remote_table == "tenants":
                if list(local) != ["tenant_id"]:
                    problems.append(f"{table}.{name}: reference to tenants must be tenant_id alone")
                continue
            if remote_table in PLATFORM_TABLES:
                continue
            if not local or local[0] != "tenant_id" or remote[0] != "tenant_id":
                problems.append(f"{table}.{name}: foreign key {local} -> {remote_table}{remote} lacks leading tenant_id")
        for name, first in conn.execute(text(
            "SELECT ic.relname, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = i.indrelid "
            " AND a.attnum = i.indkey[0]) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
            "WHERE i.indrelid = CAST(:t AS regclass)"), {"t": f'public."{table}"'}):
            if first != "tenant_id":
                problems.append(f"{table}: index/unique {name} does not lead with tenant_id")
        rls, forced = conn.execute(text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"),
            {"t": f'public."{table}"'}).one()
        if not (rls and forced):
            problems.append(f"{table}: row-level security not enabled and forced")
        policies = conn.execute(text(
            "SELECT count(*) FROM pg_policies WHERE schemaname = 'public' AND tablename = :t "
            "AND qual LIKE '%app.tenant_id%' AND with_check LIKE '%app.tenant_id%'"), {"t": table}).scalar()
        if not policies:
            problems.append(f"{table}: no tenant_isolation policy on app.tenant_id")
    return problems


def role_violations(conn, app_role: str, system_role: str) -> list[str]:
    problems = []
    for role, may_bypass in ((app_role, False), (system_role, True)):
        row = conn.execute(text("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                                "WHERE rolname = :r"), {"r": role}).one_or_none()
        if row is None:
            problems.append(f"role {role} missing")
            continue
        if row.rolsuper or row.rolcreaterole or row.rolcreatedb:
            problems.append(f"{role} has superuser/createrole/createdb")
        if row.rolbypassrls != may_bypass:
            problems.append(f"{role}: BYPASSRLS is {row.rolbypassrls}, expected {may_bypass}")
        owned = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tableowner = :r"),
                             {"r": role}).scalar()
        if owned:
            problems.append(f"{role} owns {owned} tables")
        if conn.execute(text("SELECT has_schema_privilege(:r, 'public', 'CREATE')"), {"r": role}).scalar():
            problems.append(f"{role} may create objects in schema public")
    return problems


def _snapshot(system_db, tenant_id) -> dict:
    with system_db.connect() as conn:
        return {table: [tuple(r) for r in conn.execute(text(
                    f'SELECT * FROM "{table}" WHERE tenant_id = :t ORDER BY 2'), {"t": tenant_id})]
                for table in tenant_tables(conn) if table != "audit_log"}


def assert_plugin_isolated(app, plugin: str, alpha, beta, *, login, api_token, system_db, b_ids: dict) -> None:
    """The cross-tenant matrix over every route of `plugin`, for plugin authors.

    Both tenants must have the plugin on. For each route with record ids, `b_ids[endpoint](beta)`
    gives tenant B's ids: tenant A's admin (UI) or token (API) must get 404. Routes without ids
    must answer without error. After all of it, none of B's rows has changed. A route of the
    plugin missing from `b_ids` while it takes ids fails the check, so new routes get covered.
    """
    from flask import url_for

    host = app.extensions["storecrm"]
    rules = [r for r in app.url_map.iter_rules() if host.owners.get(r.endpoint.rsplit(".", 1)[0]) == plugin]
    assert rules, f"plugin {plugin} has no routes"
    browser, headers, client = login(alpha, "admin"), api_token(alpha, "admin"), app.test_client()
    before = _snapshot(system_db, beta.id)
    for rule in rules:
        ids = [a for a in rule.arguments if a != "tenant"]
        if ids and rule.endpoint not in b_ids:
            raise AssertionError(f"route {rule.endpoint} takes {ids}: give tenant B's values in b_ids")
        values = b_ids[rule.endpoint](beta) if ids else {}
        if "tenant" in rule.arguments:
            values["tenant"] = alpha.slug
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint.startswith("api_"):
                resp = client.open(url, method=method, headers=headers, json={} if method != "GET" else None)
            elif method == "GET":
                resp = browser.get(url)
            else:
                resp = browser.post(url, {})
            assert resp.status_code < 500, (method, url, resp.status_code)
            if ids:
                assert resp.status_code == 404, (method, url, resp.status_code)
    assert _snapshot(system_db, beta.id) == before, "tenant B's rows changed"


# Citus (docs/deployment.md, "Citus"): platform tables every node must join against are reference tables (a copy on
# every node); the control plane's own tables stay on the coordinator (Citus local tables).
CITUS_REFERENCE_TABLES = {"tenants", "plans"}
CITUS_COORDINATOR_TABLES = PLATFORM_TABLES - CITUS_REFERENCE_TABLES - {"alembic_version"}


def _foreign_keys(conn):
    return conn.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text, "
        " array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) "
        "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), "
        " array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o) "
        "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'f' AND n.nspname = 'public'")).all()


def citus_layout(conn) -> dict:
    """How each table would be placed by Citus, and every reason it could not be, as
    {"distributed": [...], "reference": [...], "coordinator": [...], "problems": [...]}.

    Distributed tables (every tenant table, by tenant_id, all colocated) need what the schema rules already demand
    (primary key, unique constraints and foreign keys between them include tenant_id at the same position on both
    sides), plus: no foreign key from a distributed table to a coordinator-only table, none from a reference or
    coordinator table to a distributed one, and a reference table may reference only reference tables."""
    distributed = tenant_tables(conn)
    present = {r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))}
    reference = sorted(CITUS_REFERENCE_TABLES & present)
    coordinator = sorted(CITUS_COORDINATOR_TABLES & present)
    kind = {**{t: "distributed" for t in distributed}, **{t: "reference" for t in reference},
            **{t: "coordinator" for t in coordinator}}
    problems = list(schema_violations(conn))
    for table in distributed:
        columns = {r[0] for r in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = :t"),
            {"t": table})}
        if "tenant_id" not in columns:
            problems.append(f"{table}: no tenant_id to distribute by")
    for table, name, remote, local_cols, remote_cols in _foreign_keys(conn):
        table, remote = table.strip('"'), remote.strip('"')
        if table.startswith("alembic_version"):
            continue
        source, target = kind.get(table, "unknown"), kind.get(remote, "unknown")
        if source == "distributed" and target == "distributed":
            pos = [i for i, c in enumerate(local_cols) if c == "tenant_id"]
            if not pos or remote_cols[pos[0]] != "tenant_id":
                problems.append(f"{table}.{name}: tenant_id does not meet tenant_id in {remote}: a cross-tenant key")
        elif source == "distributed" and target == "coordinator":
            problems.append(f"{table}.{name}: a distributed table references coordinator-only {remote}")
        elif source in ("reference", "coordinator") and target == "distributed":
            problems.append(f"{table}.{name}: {source} table references distributed {remote}")
        elif source == "reference" and target != "reference":
            problems.append(f"{table}.{name}: reference table references {target} {remote}")
        elif "unknown" in (source, target):
            problems.append(f"{table}.{name}: {table} or {remote} is in no Citus list")
    return {"distributed": distributed, "reference": reference, "coordinator": coordinator, "problems": problems}


def citus_statements(layout: dict) -> list[str]:
    """The Citus schema commands for `layout` (run on the coordinator after `CREATE EXTENSION citus`, before data is
    loaded): reference tables first, then every tenant table distributed by tenant_id, colocated with `tenants`'s
    first child so that a tenant's rows of every table live on the same node and join locally."""
    first = "stores" if "stores" in layout["distributed"] else layout["distributed"][0]
    statements = [f"SELECT create_reference_table('{t}');" for t in layout["reference"]]
    statements.append(f"SELECT create_distributed_table('{first}', 'tenant_id');")
    statements += [f"SELECT create_distributed_table('{t}', 'tenant_id', colocate_with => '{first}');"
                   for t in layout["distributed"] if t != first]
    statements += [f"SELECT citus_add_local_table_to_metadata('{t}');" for t in layout["coordinator"]]
    return statements
