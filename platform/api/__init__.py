"""REST API under /api/v1 (flask-smorest): bearer tokens, problem+json errors, OpenAPI."""
from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api


def _schema_name(schema) -> str:
    """Component name: class name without "Schema", with a suffix for partial (PATCH) variants."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and getattr(schema, "partial", False):
        name += "Patch"
    return name

class StoreCrmApi(Api):
    def _register_error_handlers(self):
        """Errors are rendered by storecrm.web.errors (problem+json under /api/) for the whole app."""


api = StoreCrmApi()


def register_api(app) -> None:
    from . import auth as api_auth
    from .resources import customers, me, stores, tokens, users

    api.init_app(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name),"info": {"description": "StoreCRM REST API. Authenticate with "
                                            "`Authorization: Bearer <personal API token>`."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from ..extensions import limiter

    for module in (me, stores, users, customers, tokens):
        limiter.limit(api_auth.api_limit, key_func=api_auth.api_key)(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1" + module.blp.url_prefix)
    api_auth.init_app(app)
