"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106's recommendations)."""
from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Cost parameters may be lowered by the environment (the test suite does; production must not).
_hasher = PasswordHasher(
    time_cost=int(os.environ.get("ARGON2_TIME_COST", 3)),
    memory_cost=int(os.environ.get("ARGON2_MEMORY_COST", 65536)),
)
# Verified against when the login name is unknown, so that timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("storecrm-timing-equaliser")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
