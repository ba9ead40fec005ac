"""The core's Permissions-Policy keeps geolocation and the microphone off on every page; one route opts in, for its
own origin only, with `allow_browser_features` (the SDK's decorator), and every other route keeps them off."""
import pytest
from flask import Flask

from storecrm.sdk import allow_browser_features
from storecrm.web.security import init_app


def test_a_route_opts_into_a_browser_feature_and_unknown_features_are_refused():
    app = Flask(__name__)
    app.config["SESSION_COOKIE_SECURE"] = False
    init_app(app)

    @app.get("/map")
    @allow_browser_features("geolocation", "microphone")
    def map_page():
        return "map"

    @app.get("/other")
    def other():
        return "other"

    client = app.test_client()
    assert client.get("/map").headers["Permissions-Policy"] == "camera=(self), geolocation=(self), microphone=(self)"
    assert client.get("/other").headers["Permissions-Policy"] == "camera=(self), geolocation=(), microphone=()"
    with pytest.raises(ValueError):
        allow_browser_features("payment-everywhere")
