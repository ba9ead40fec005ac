"""Entry point of `dramatiq storecrm.worker` and `periodiq storecrm.worker`: the app, and every module that declares
actors, imported so the broker knows them all."""
from . import housekeeping  # noqa: F401
from .app import create_app
from .jobs import broker  # noqa: F401  (installs the broker)
from .jobs.middleware import bind_app
from .imports import jobs as import_jobs  # noqa: F401
from . import timers  # noqa: F401
from .notifications import sweeps  # noqa: F401
from .notifications import reminders  # noqa: F401
from .rules import jobs as rule_jobs  # noqa: F401
from .reports import jobs as report_jobs  # noqa: F401
from .surveys import jobs as survey_jobs  # noqa: F401
from .workflow import engine as workflow_engine  # noqa: F401 — the deadline handler

app = create_app()
bind_app(app)
