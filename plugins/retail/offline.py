"""The offline till: a signed, short-lived member QR code that a till can check with no network, capped points and
coupons accepted against it, and the till's later upload reconciled exactly once.

The pass (what the member page shows) is `SC1.<payload>.<signature>`: payload = base64url of compact JSON
{"v": 1, "k": key version, "t": tenant id, "m": member number, "e": expiry (unix seconds), "n": nonce,
"p": points the till may take (the balance, at most the tenant's per-sale cap), "c": the member's usable coupon
codes}; signature = base64url of HMAC-SHA256(tenant key, "SC1." + payload). The tenant key is derived from the
application secret, the tenant id and the key version (never stored; raising `offline_key_version` rotates it) and
reaches tills through `GET /api/v1/retail/offline/key` (staff with `retail.till`). A till checks the signature,
the tenant, that `e` is still ahead of its clock and that it has not seen the nonce, then accepts at most `p` points
and any coupon in `c` — one sale per pass.

Back online it uploads each sale with its own idempotency key. Reconciliation takes the member's lock, so two tills
uploading at once are decided one after the other: a replayed key returns the first outcome and changes nothing;
a pass used for a second sale, a coupon already used (at another till, offline or online), points over the pass's
cap or beyond the balance by now are rejected — the whole sale, in its own savepoint — recorded with the reason and
reported to the store's manager through the outbox. HMAC (the standard library's `hmac`) rather than public-key
signatures: the till holds the key anyway to verify, and a till's key is limited to one tenant and one version."""
import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select, text

from storecrm.sdk import (Store, Trimmed, current_tenant_id, db, get_scoped, notify_user, plugin_settings,
                          record_audit, staff_with_role, tenant_zone, utcnow)

from . import coupons, members, points
from .models import OfflineTransaction

PREFIX = "SC1"
LEEWAY = timedelta(seconds=60)          # a till's clock a minute behind still reconciles
REASONS = {"bad_signature": _l("The QR code's signature is not valid"), "expired": _l("The QR code had expired"),
           "unknown_member": _l("No member has this number"), "qr_reused": _l("The QR code was already used for a sale"),
           "over_cap": _l("More points than the QR code allowed"),
           "not_enough_points": _l("Not enough points by the time of upload"),
           "coupon_unknown": _l("The coupon is not this member's"), "coupon_expired": _l("The coupon was not valid that day"),
           "coupon_used": _l("The coupon had already been used")}
STATUSES = {"applied": _l("Applied"), "rejected": _l("Rejected")}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text_: str) -> bytes:
    return base64.urlsafe_b64decode(text_ + "=" * (-len(text_) % 4))


def key_version() -> int:
    return int(plugin_settings("retail")["offline_key_version"])


def tenant_key(version: int | None = None) -> bytes:
    version = key_version() if version is None else version
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"storecrm.retail.offline|{current_tenant_id()}|{version}".encode(), hashlib.sha256).digest()


def key_for_tills() -> dict:
    settings = plugin_settings("retail")
    version = key_version()
    return {"key_id": f"{current_tenant_id()}.{version}", "version": version, "tenant_id": current_tenant_id(),
            "algorithm": "HMAC-SHA256", "key": _b64(tenant_key(version)), "format": f"{PREFIX}.<payload>.<signature>",
            "qr_minutes": int(settings["offline_qr_minutes"]), "points_cap": int(settings["offline_points_cap"])}


def sign(payload: dict, key: bytes) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, f"{PREFIX}.{body}".encode(), hashlib.sha256).digest()
    return f"{PREFIX}.{body}.{_b64(mac)}"


def issue_pass(member, *, now: datetime | None = None) -> tuple[str, datetime]:
    """A fresh pass for `member` (the member page shows it as a QR): (token, expiry)."""
    now = now or utcnow()
    settings = plugin_settings("retail")
    expires = now + timedelta(minutes=int(settings["offline_qr_minutes"]))
    today = now.astimezone(tenant_zone()).date()
    usable = [c.code for c, _t in coupons.coupons_of(member.id)
              if c.redeemed_at is None and c.valid_from <= today <= c.valid_until][:5]
    payload = {"v": 1, "k": key_version(), "t": current_tenant_id(), "m": member.member_no,
               "e": int(expires.timestamp()), "n": secrets.token_hex(8),
               "p": max(min(member.points_balance, int(settings["offline_points_cap"])), 0), "c": usable}
    return sign(payload, tenant_key()), expires


def verify(token: str, key: bytes) -> dict | None:
    """The pass's payload when its signature is right under `key`, else None (what a till does; no clock here)."""
    try:
        prefix, body, mac = str(token or "").split(".")
        if prefix != PREFIX:
            return None
        expected = hmac.new(key, f"{PREFIX}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


def _trusted(token: str) -> dict | None:
    """The pass checked with this tenant's current key or the one before it (tills refresh after a rotation)."""
    version = key_version()
    for v in (version, version - 1):
        if v < 1:
            continue
        payload = verify(token, tenant_key(v))
        if payload is not None and payload.get("k") == v and payload.get("t") == current_tenant_id():
            return payload
    return None


class OfflineSaleIn(Schema):
    key = Trimmed(required=True, validate=validate.Length(min=8, max=80))
    qr = fields.String(required=True, validate=validate.Length(min=10, max=2000))
    accepted_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    points = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=10**7))
    coupon_code = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=16))
    receipt_no = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))


class UploadIn(Schema):
    till = Trimmed(required=True, validate=validate.Length(min=1, max=40))
    store_id = fields.Integer(required=True, strict=False)
    transactions = fields.List(fields.Nested(OfflineSaleIn), required=True, validate=validate.Length(min=1, max=500))


class _Rejected(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _apply(row: OfflineTransaction, payload: dict, sale: dict) -> None:
    """Redeem what the till gave; raises _Rejected (the caller rolls the savepoint back)."""
    member = members.by_number(payload.get("m"))
    if member is None:
        raise _Rejected("unknown_member")
    member = points.lock(member.id)            # one member's uploads are decided one after the other
    row.member_id = member.id
    if sale["accepted_at"] > datetime.fromtimestamp(int(payload.get("e", 0)), timezone.utc) + LEEWAY:
        raise _Rejected("expired")
    if db.session.scalar(select(OfflineTransaction.id).where(OfflineTransaction.member_id == member.id,
                                                             OfflineTransaction.nonce == payload.get("n"),
                                                             OfflineTransaction.status == "applied")):
        raise _Rejected("qr_reused")
    if sale["points"] > int(payload.get("p", 0)):
        raise _Rejected("over_cap")
    if sale["points"]:
        try:
            points.redeem(member.id, sale["points"], _("Offline till %(till)s", till=row.till)[:200])
        except ValidationError:
            raise _Rejected("not_enough_points")
    if sale["coupon_code"]:
        coupon = coupons.by_code(sale["coupon_code"])
        if coupon is None or coupon.member_id != member.id or coupon.code not in (payload.get("c") or []):
            raise _Rejected("coupon_unknown")
        day = sale["accepted_at"].astimezone(tenant_zone()).date()
        if not (coupon.valid_from <= day <= coupon.valid_until):
            raise _Rejected("coupon_expired")
        if not coupons.claim(coupon, store_id=row.store_id):
            raise _Rejected("coupon_used")


def _report(row: OfflineTransaction) -> None:
    for manager in staff_with_role("manager", row.store_id)[:1] or staff_with_role("owner")[:1]:
        notify_user(manager, _("Offline sale rejected at reconciliation: %(reason)s", reason=REASONS[row.reason]),
                    _("Till %(till)s, receipt %(receipt)s", till=row.till, receipt=row.receipt_no or "—"),
                    "/retail/offline", dedupe_key=f"retail-offline-{row.id}")


def reconcile(raw: dict) -> list[dict]:
    """Reconcile a till's upload; [{key, status, reason, replayed}] in the order sent. ValidationError (nothing
    written) when the upload itself is malformed."""
    data = UploadIn().load(raw)
    store = get_scoped(Store, data["store_id"])
    if store is None:
        raise ValidationError({"store_id": [_("Choose one of the listed options.")]})
    out = []
    for sale in data["transactions"]:
        # one key at a time, even from two uploads of the same batch racing each other
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                           {"k": f"retail-offline:{current_tenant_id()}:{sale['key']}"})
        row = db.session.scalar(select(OfflineTransaction).where(OfflineTransaction.key == sale["key"]))
        if row is not None:
            out.append({"key": row.key, "status": row.status, "reason": row.reason, "replayed": True})
            continue
        payload = _trusted(sale["qr"])
        row = OfflineTransaction(key=sale["key"], till=data["till"], store_id=store.id, points=sale["points"],
                                 coupon_code=(sale["coupon_code"] or "").upper() or None, receipt_no=sale["receipt_no"],
                                 accepted_at=sale["accepted_at"], nonce=str((payload or {}).get("n", ""))[:40] or None,
                                 status="applied", uploaded_at=utcnow())
        try:
            with db.session.begin_nested():
                if payload is None:
                    raise _Rejected("bad_signature")
                _apply(row, payload, sale)
        except _Rejected as rejected:
            row.status, row.reason = "rejected", rejected.reason
        db.session.add(row)
        db.session.flush()
        if row.status == "rejected":
            _report(row)
        record_audit("create", "retail_offline_transaction", row.id,
                     f"{data['till']} {row.key}: {row.status}{' ' + row.reason if row.reason else ''}")
        out.append({"key": row.key, "status": row.status, "reason": row.reason, "replayed": False})
    return out


def listing(status: str | None = None, limit: int = 100) -> list[OfflineTransaction]:
    query = select(OfflineTransaction).order_by(OfflineTransaction.id.desc()).limit(limit)
    if status in STATUSES:
        query = query.where(OfflineTransaction.status == status)
    return list(db.session.scalars(query))
