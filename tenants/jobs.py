"""Every ten minutes: overdue workspaces past their grace period become read-only; stored Stripe events whose job
was lost are applied."""
from periodiq import cron

from ..jobs import actor
from .billing import apply_pending, suspend_overdue
from .lifecycle import purge_due


@actor(periodic=cron("*/10 * * * *"), max_retries=0)
def billing_sweep() -> None:
    from flask import current_app

    if not current_app.config["STORECRM"].billing_enabled:
        return

    apply_pending()
    suspend_overdue()


@actor(periodic=cron("20 4 * * *"), max_retries=0)
def purge_deleted_tenants() -> None:
    """Nightly: tenants whose deletion waiting period is over are deleted for good."""
    purge_due()
