"""Fixtures: real PostgreSQL (embedded unless DATABASE_URL is set), Redis, two tenants, logins.

Nothing leaks between tests: every table is truncated after each test and the rate limiter
storage is reset.
"""
from __future__ import annotations

import os
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("STORECRM_VAR_DIR", str(ROOT / "var"))
os.environ["STORECRM_ENV"] = "test"
os.environ["STORECRM_BROKER"] = "stub"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_COST", "1024")

from storecrm.embedded import apply_defaults  # noqa: E402

_started = apply_defaults(database="storecrm_test", prefix="test-")

pytest_plugins = ["tests.support.fixtures"]


def pytest_sessionfinish(session, exitstatus):
    pgdata = _started.get("STORECRM_EMBEDDED_PGDATA")
    if pgdata:
        from storecrm.embedded import stop_postgres

        stop_postgres(Path(pgdata))

