"""Signed links of the customer's payment pages, with the tenant inside: a link of one tenant opens nothing in
another, and its amount and purpose cannot be changed by the visitor."""
from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from storecrm.sdk import current_tenant_id

PAY, PAYING = "storecrm.wechat_pay.pay", "storecrm.wechat_pay.paying"
MAX_AGE = 86400


def _s(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make(salt: str, *values) -> str:
    return _s(salt).dumps([current_tenant_id(), *values])


def read(salt: str, token: str) -> list | None:
    try:
        values = _s(salt).loads(token, max_age=MAX_AGE)
    except (BadData, ValueError, TypeError):
        return None
    if not isinstance(values, list) or not values or values[0] != current_tenant_id():
        return None
    return values[1:]
