"""Customers' own public pages ask the tenant's plugins about their visitor (`public_visitor` hook): inside WeChat's
browser the Official Account plugin sends the visitor through WeChat sign-in once and binds their openid."""
from __future__ import annotations

from flask import request

from ..hooks.runtime import tenant_hook


def public_visitor_response(customer):
    """A response to return instead of the page (a redirect to sign in), or None. Only for GET: a form post is
    never interrupted."""
    if customer is None or request.method != "GET":
        return None
    return tenant_hook("public_visitor")(customer=customer)
