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

    def register_blueprint(self, blp, **options):
        # every API blueprint, core or plugin, gets the per-user rate limit and no CSRF (bearer tokens only)
        from ..extensions import csrf, limiter
        from .auth import api_key, api_limit

        limiter.limit(api_limit, key_func=api_key)(blp)
        csrf.exempt(blp)
        super().register_blueprint(blp, **options)


api = StoreCrmApi()


def init_api(app) -> None:
    api.init_app(app, spec_kwargs={
        "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name),
        "info": {"description": "StoreCRM REST API. Authenticate with `Authorization: Bearer <personal API token>`."},
    })
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})


def core_blueprints() -> list:
    from .resources import (account, activities, assets, customers, fields, files, me, message_templates,
                            notifications, plugins, rules, stores, tokens, users, webhooks, workflows)

    return [m.blp for m in (me, stores, users, customers, activities, assets, fields, files, notifications, webhooks,
                            message_templates, tokens, plugins, workflows, rules, account)] + [workflows.items_blp, account.signup_blp]
