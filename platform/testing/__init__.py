"""Test kit for StoreCRM and its plugins: pytest fixtures (app, db, two tenants, logins, API tokens)
and isolation checks (schema rules, cross-tenant routes). Registered as the pytest plugin `storecrm`
(entry point `pytest11`), so a plugin's own test suite gets all of it by installing StoreCRM.
"""
from .fixtures import TenantWorld, run_jobs  # noqa: E402,F401
from .isolation import assert_plugin_isolated, schema_violations  # noqa: E402,F401

__all__ = ["TenantWorld", "assert_plugin_isolated", "run_jobs", "schema_violations"]
