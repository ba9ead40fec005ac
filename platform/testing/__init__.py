"""Test kit for StoreCRM and its plugins: pytest fixtures (app, db, two tenants, logins, API tokens)
and isolation checks (schema rules, cross-tenant routes). Registered as the pytest plugin `storecrm`
(entry point `pytest11`), so a plugin's own test suite gets all of it by installing StoreCRM.
"""
from .fixtures import TenantWorld  # noqa: E402,F401
from .isolation import assert_plugin_isolated, schema_violations  # noqa: E402,F401

__all__ = ["TenantWorld", "assert_plugin_isolated", "schema_violations"]


def run_jobs() -> None:
    """Run the queued background jobs (outbox relays, plugin actors) to the end, as a worker would."""
    import dramatiq

    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        broker.join("default")
        worker.join()
    finally:
        worker.stop()


def relay_outbox(app, engine) -> int:
    """The outbox's minute sweep after its retry wait has passed: every pending message is made due now and relayed
    (a provider that was down gets its retry); returns how many tenants had messages to relay."""
    from sqlalchemy import text

    from ..notifications.sweeps import relay_all_due

    with engine.begin() as conn:   # the system role's engine (system_db): it sees every tenant's messages
        conn.execute(text("UPDATE outbox_messages SET next_attempt_at = now() WHERE status = 'pending'"))
    with app.app_context():
        tenants = relay_all_due()
    run_jobs()
    return tenants


__all__ += ["run_jobs", "relay_outbox"]
