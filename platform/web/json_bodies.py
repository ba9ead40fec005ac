"""JSON request bodies that Python's parser cannot take are bad requests, not server errors.

`json.loads` raises ValueError for an integer of more than 4,300 digits (CVE-2020-10735's limit) and RecursionError
for arrays nested about a thousand deep; Flask catches neither the second nor webargs (flask-smorest's parser) the
first, so both surfaced as 500s — without a login, on /api/v1/signup. Both request paths are covered here.
"""
from __future__ import annotations

import json

import flask
from flask_smorest import Blueprint
from webargs import flaskparser


class Request(flask.Request):
    """Flask's request, with every undecodable JSON body (too deep included) answered 400."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as err:
            if silent:
                return None
            return self.on_json_loading_failed(ValueError(str(err)))


class FlaskParser(flaskparser.FlaskParser):
    """webargs' parser, treating too-long integers and too-deep nesting as the invalid JSON they are."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as err:
            raise json.JSONDecodeError(str(err)[:200], "", 0) from err


# flask-smorest blueprints bind their parser when a resource module is imported (`@blp.arguments`): set it here,
# at import, which storecrm.api does before any resource module loads
Blueprint.ARGUMENTS_PARSER = FlaskParser()
