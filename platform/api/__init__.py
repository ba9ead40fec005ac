"""REST API under /api/v1 (flask-smorest): bearer tokens, problem+json errors, OpenAPI."""
from __future__ import annotations

import http

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields, validate

from ..extensions import csrf
from ..web import json_bodies  # noqa: F401  (before any resource module: their arguments bind its parser)

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(Schema):
    """An error as storecrm.web.errors renders it for every API path (RFC 9457 problem details)."""

    class Meta:
        unknown = INCLUDE  # extension members, e.g. `existing_customer_ids` on a One-ID conflict

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages by field name, in the user's language"})


def _schema_name(schema) -> str:
    """Component name: class name without "Schema", with a suffix for partial (PATCH) variants."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and getattr(schema, "partial", False):
        name += "Patch"
    return name


def _decimal_as_string(converter, field, **kwargs) -> dict:
    """`Decimal(as_string=True)` dumps "39.00"; apispec would call it a number. Its `validate.Range` bounds, which
    apispec writes as they dump ("99999999.00"), are written as the numbers OpenAPI requires."""
    if isinstance(field, fields.Decimal) and field.as_string:
        out = {"type": "string", "format": "decimal"}
        for check in field.validators:
            if isinstance(check, validate.Range):
                if check.min is not None:
                    out["minimum"] = float(check.min)
                if check.max is not None:
                    out["maximum"] = float(check.max)
        return out
    return {}


class StoreCrmApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        """Errors are rendered by storecrm.web.errors (problem+json under /api/) for the whole app."""

    def _register_responses(self):
        """The error responses flask-smorest registers (DEFAULT_ERROR, one per status), as the problem documents
        storecrm.web.errors sends, with their media type: the spec must describe what clients get."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def register_blueprint(self, blp, **options):
        # no CSRF on any API blueprint, core or plugin (bearer tokens only); the per-user rate limit is checked with
        # the token (api/ratelimit.py)
        csrf.exempt(blp)
        super().register_blueprint(blp, **options)


def init_api(app) -> StoreCrmApi:
    """The app's API and its OpenAPI document. One per app, never a module-level one: init_app replaces the spec, so
    a second app in one process (tests, tools) would otherwise serve its document from the first app too."""
    api = StoreCrmApi()
    api.init_app(app, spec_kwargs={
        "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name),
        "info": {"description": "StoreCRM REST API. Authenticate with `Authorization: Bearer <personal API token>`."},
    })
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.ma_plugin.converter.add_attribute_function(_decimal_as_string)
    app.extensions["storecrm_api"] = api
    return api


def core_blueprints() -> list:
    # imported here: `fields` here is resources.fields; at module level it is marshmallow's fields
    from .resources import (activities, assets, catalog, customers, fields, files, leads, me, message_templates,
                            notifications, plugins, reports, rules, sales, scheduling, stock, stores, surveys, tokens,
                            users, webhooks, workflows)

    return [m.blp for m in (me, stores, users, customers, activities, assets, fields, files, notifications, webhooks,
                            message_templates, tokens, plugins, workflows, rules, catalog, stock, surveys)] + [
        workflows.items_blp, sales.quotes_blp, sales.orders_blp, reports.kpis_blp, reports.dashboards_blp,
        reports.alerts_blp, reports.reports_blp, surveys.responses_blp] + scheduling.BLUEPRINTS + leads.BLUEPRINTS
