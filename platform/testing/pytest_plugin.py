"""The `storecrm` pytest plugin. Inert until a test asks for one of its fixtures.

Environment defaults are set at configure time (before any StoreCRM module reads them): the
in-memory job broker, cheap argon2 parameters, test mode. The database is started lazily by
the `app` fixture: the embedded PostgreSQL under var/ unless DATABASE_URL is set.
"""
from __future__ import annotations

import os


def pytest_configure(config):
    os.environ.setdefault("STORECRM_ENV", "test")
    os.environ.setdefault("STORECRM_BROKER", "stub")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("ARGON2_TIME_COST", "1")
    os.environ.setdefault("ARGON2_MEMORY_COST", "1024")
    config.addinivalue_line("markers", "storecrm_plugins(*names): plugins switched on for every tenant the "
                                       "two_tenants and make_tenant fixtures build in this test (closest mark wins)")


from .fixtures import *  # noqa: E402,F401,F403
