"""Binding a visitor's openid to a customer (One-ID identity kind `wechat_openid`) and following the account."""
import re

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import add_identity, db, find_customer_by_identity, identities_of, record_audit, utcnow

from .models import Follower

KIND = "wechat_openid"
OPENID = re.compile(r"^[A-Za-z0-9_\-]{6,64}$")


def normalize_openid(raw: str) -> str:
    value = (raw or "").strip()
    if not OPENID.match(value):
        raise ValidationError(_("An openid has 6-64 letters, digits, - or _."))
    return value


def follower(openid: str) -> Follower:
    row = db.session.scalar(select(Follower).where(Follower.openid == openid))
    if row is None:
        row = Follower(openid=openid)
        db.session.add(row)
        db.session.flush()
    return row


def bind(customer, openid: str) -> bool:
    """Give `customer` the identity openid; False when another customer already holds it (nothing is moved: the
    staff's merge decides that, not a link opened in someone's browser)."""
    holder = find_customer_by_identity(KIND, openid)
    if holder is not None and holder.id != customer.id:
        return False
    if holder is None:
        add_identity(customer, KIND, openid)
    row = follower(openid)
    if row.customer_id != customer.id:
        row.customer_id, row.bound_at = customer.id, utcnow()
        record_audit("update", "wechat_follower", row.id, f"{customer.name}: WeChat")
    return True


def openid_of(customer_id: int) -> str | None:
    return next((i.value for i in identities_of(customer_id) if i.kind == KIND), None)
