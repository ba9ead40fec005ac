"""The server callback URL (服务器配置): WeChat proves each push with signature = SHA1 of the sorted (token,
timestamp, nonce); the URL is verified once by echoing `echostr`. Pushes older than five minutes are refused (a
replay), and each (openid, CreateTime, event) is applied once (WeChat retries a push it got no answer for).

Safe mode (安全模式, and 兼容模式): with `encrypt_type=aes` the body carries `<Encrypt>`, AES-256-CBC under the
EncodingAESKey, and `msg_signature` = SHA1 of the sorted (token, timestamp, nonce, Encrypt). The decrypted message
ends with the account's AppID, which must be ours. wechatpy's WeChatCrypto does exactly WeChat's documented
algorithm (PKCS#7 to 32 bytes, 16 random bytes, network-order length, message, AppID). A reply to an encrypted
push is encrypted the same way."""
import time

import xmltodict
from sqlalchemy.dialects.postgresql import insert
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from storecrm.sdk import current_tenant_id, db, plugin_settings, utcnow

from . import subscribe
from .binding import follower
from .models import CallbackEvent

MAX_AGE = 300


class Refused(Exception):
    """A push that is not from WeChat for this account (bad signature, wrong AppID, no key): 403, nothing kept."""


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


def encrypted(args) -> bool:
    return args.get("encrypt_type", "raw").lower() == "aes"


def _crypto() -> WeChatCrypto:
    settings = plugin_settings("wechat_oa")
    if not settings.get("encoding_aes_key") or not settings.get("app_id"):
        raise Refused("safe mode is not set up: no EncodingAESKey")
    return WeChatCrypto(settings["server_token"], settings["encoding_aes_key"], settings["app_id"])


def decrypt(body: bytes, args) -> bytes:
    """The plaintext XML of a safe-mode push; Refused for a forged msg_signature or another account's AppID,
    ValueError for a body that is not a safe-mode message at all."""
    crypto = _crypto()
    try:
        return crypto.decrypt_message(body, args.get("msg_signature", ""), args.get("timestamp", ""),
                                      args.get("nonce", "")).encode()
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise Refused(type(exc).__name__) from exc
    except Exception as exc:  # noqa: BLE001 — broken XML, no <Encrypt>, bad base64 or padding
        raise ValueError("not a safe-mode message") from exc


def encrypt_reply(reply: str, args) -> str:
    return _crypto().encrypt_message(reply, args.get("nonce", ""), args.get("timestamp") or None)


def handle(xml: bytes) -> str | None:
    """Apply a push: subscribe / unsubscribe change the follower, subscribe-message events the consent ledger; other
    messages are acknowledged and dropped. Returns the passive reply XML (the welcome text on follow) or None."""
    message = xmltodict.parse(xml)["xml"]
    if not isinstance(message, dict):
        raise ValueError("not a WeChat message")
    event = str(message.get("Event") or "")
    if message.get("MsgType") != "event" or event not in ("subscribe", "unsubscribe", *subscribe.EVENTS):
        return None
    openid, created = str(message["FromUserName"])[:64], int(message["CreateTime"])
    fresh = db.session.execute(insert(CallbackEvent).values(
        tenant_id=current_tenant_id(), openid=openid, event=event[:32], create_time=created, received_at=utcnow())
        .on_conflict_do_nothing().returning(CallbackEvent.id)).scalar()
    if fresh is None:
        return None
    if event in subscribe.EVENTS:
        subscribe.record_event(openid, event, message)
        return None
    row = follower(openid)
    if event == "unsubscribe":
        row.subscribed, row.unsubscribed_at = False, utcnow()
        return None
    row.subscribed, row.subscribed_at = True, utcnow()
    welcome = (plugin_settings("wechat_oa").get("welcome_text") or "").strip()
    if not welcome:
        return None
    return TextReply(source=str(message.get("ToUserName") or ""), target=openid, content=welcome).render()
