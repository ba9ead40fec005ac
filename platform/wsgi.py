"""gunicorn entry point: `gunicorn storecrm.wsgi:app`."""
from .app import create_app

app = create_app()
