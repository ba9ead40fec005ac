"""Encryption at rest for credentials a tenant enters (SMS keys, WeChat secrets, payment keys).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) rather than anything hand-made: authenticated, versioned
tokens, and `MultiFernet` rotates keys. Keys come from `STORECRM_ENCRYPTION_KEYS` (comma-separated Fernet keys, the
first encrypts, all decrypt); without it one key is derived from the secret key with HKDF, so a development install
needs nothing — but then rotating the secret key makes stored credentials unreadable (docs/security.md)."""
from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "fernet:"


class Unreadable(Exception):
    """A sealed value no configured key opens (keys rotated away, or the secret key changed)."""


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"storecrm credentials at rest").derive(secret_key.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def _current_box() -> MultiFernet:
    settings = current_app.config["STORECRM"]
    return _box(tuple(settings.encryption_keys), settings.secret_key)


def seal(text: str) -> str:
    """The text encrypted for storage (a string, so it fits a JSON column)."""
    return PREFIX + _current_box().encrypt(text.encode()).decode()


def unseal(value: str) -> str:
    """The text of a sealed value; a value that was never sealed is returned as it is."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return value
    try:
        return _current_box().decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken as err:
        raise Unreadable("a stored credential cannot be decrypted with the configured keys") from err


def is_sealed(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)
