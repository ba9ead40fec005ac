from periodiq import cron

from ..extensions import db
from ..jobs import actor
from . import services


@actor(max_retries=0, time_limit=3 * 60 * 60 * 1000)
def run_import(run_id: int) -> None:
    """A message redelivered after a worker restart resumes from the last committed batch; an error in
    the data or code marks the import failed (retrying would meet the same error)."""
    try:
        services.process(run_id)
    except Exception as exc:
        db.session.rollback()
        services.fail(run_id, f"{type(exc).__name__}: {exc}")
        raise


@actor(periodic=cron("*/5 * * * *"), max_retries=0)
def requeue_stalled_imports() -> None:
    """Every 5 minutes: imports whose job stopped renewing its lease (worker killed, message lost) are queued
    again and go on from their last committed batch."""
    services.requeue_stalled_runs()
