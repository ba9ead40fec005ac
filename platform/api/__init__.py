"""REST API under /api/v1 (flask-smorest): bearer tokens, problem+json errors, OpenAPI."""
from __future__ import annotations

from flask_smorest import Api

class StoreCrmApi(Api):
    def _register_error_handlers(self):
        """Errors are rendered by storecrm.web.errors (problem+json under /api/) for the whole app."""


api = StoreCrmApi()


def register_api(app) -> None:
    from . import auth as api_auth
    from .resources import customers, me, stores, tokens, users

    api.init_app(app, spec_kwargs={"info": {"description": "StoreCRM REST API. Authenticate with "
                                            "`Authorization: Bearer <personal API token>`."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from ..extensions import limiter

    for module in (me, stores, users, customers, tokens):
        limiter.limit(api_auth.api_limit, key_func=api_auth.api_key)(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1" + module.blp.url_prefix)
    api_auth.init_app(app)
