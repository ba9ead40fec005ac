"""The server callback URL (服务器配置): WeChat proves each push with signature = SHA1 of the sorted (token,
timestamp, nonce); the URL is verified once by echoing `echostr`. Pushes older than five minutes are refused (a
replay), and each (openid, CreateTime, event) is applied once (WeChat retries a push it got no answer for)."""
import time

from sqlalchemy.dialects.postgresql import insert
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from storecrm.sdk import current_tenant_id, db, plugin_settings, utcnow

from .binding import follower
from .models import CallbackEvent

MAX_AGE = 300


def verified(args) -> bool:
    token = plugin_settings("wechat_oa").get("server_token")
    if not token:
        return False
    try:
        check_signature(token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        stamp = int(args.get("timestamp", ""))
    except (InvalidSignatureException, ValueError):
        return False
    return abs(time.time() - stamp) <= MAX_AGE


def handle(xml: bytes) -> None:
    """Apply a push: subscribe / unsubscribe change the follower; other messages are acknowledged and dropped."""
    message = parse_message(xml)
    event = getattr(message, "event", None)
    if message.type != "event" or event not in ("subscribe", "unsubscribe"):
        return
    openid, created = message.source, int(message.create_time.timestamp())
    fresh = db.session.execute(insert(CallbackEvent).values(
        tenant_id=current_tenant_id(), openid=openid, event=event, create_time=created, received_at=utcnow())
        .on_conflict_do_nothing().returning(CallbackEvent.id)).scalar()
    if fresh is None:
        return
    row = follower(openid)
    if event == "subscribe":
        row.subscribed, row.subscribed_at = True, utcnow()
    else:
        row.subscribed, row.unsubscribed_at = False, utcnow()
