"""Test kit for StoreCRM and its plugins: pytest fixtures (app, db, two tenants, logins, API tokens)
and isolation checks (schema rules, cross-tenant routes). Registered as the pytest plugin `storecrm`
(entry point `pytest11`), so a plugin's own test suite gets all of it by installing StoreCRM.
"""
