"""Entry point of gunicorn (`storecrm.wsgi:app`) and of `flask --app storecrm.wsgi:app …`.

Outside production, unset DATABASE_URL / REDIS_URL mean the embedded services, so the
operator and developer commands work on a fresh machine too.
"""
import os

from .app import create_app

if os.environ.get("STORECRM_ENV", "development") != "production":
    from .embedded import apply_defaults

    apply_defaults()

app = create_app()
