# Read by `flask` (python-dotenv) when run from this folder, so `flask plugins list` needs no --app.
# Settings and secrets stay in the environment (docs/configuration.md), not here.
FLASK_APP=storecrm.wsgi:app
