"""The API's per-user rate limit (`API_RATE_LIMIT`), checked once the token says who is calling.

Flask-Limiter's decorator on the API blueprints ran before authentication, so it never knew the user and counted per
client IP instead: every integration behind one NAT or proxy shared a limit, and one user with several addresses had
several. Here the check runs right after the token is verified, through the same `limits` strategy and Redis storage
Flask-Limiter uses. A request whose token fails counts against its IP instead, so guessing tokens is limited too.

Calls are counted in blocks: a process reserves up to 10 calls of a user at once in Redis (`cost=`), then spends
them locally for at most a second, so a busy integration costs one Redis round trip per block, not per call (bench
B1). A user can never exceed the limit — a reserved call is counted when reserved — but may be refused up to a block
per other process early; a block is a second's worth of the limit (600 a minute: 10), so limits under 120 a minute are
counted call by call.
"""
from __future__ import annotations

import functools
import threading
import time

from flask import current_app, request
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from ..extensions import limiter


@functools.lru_cache(maxsize=16)
def _limits(setting: str):
    return tuple(parse_many(setting))


BLOCK_SECONDS = 1.0
_reserved: dict[tuple[str, str], tuple[float, int]] = {}  # (setting, key) -> (spend until, calls left)
_lock = threading.Lock()


def _block(items) -> int:
    return max(1, min(10, *(item.amount // item.get_expiry() for item in items)))  # a second's worth


def _spend_reserved(slot) -> bool:
    now = time.monotonic()
    with _lock:
        until, left = _reserved.get(slot, (0.0, 0))
        if left > 0 and until > now:
            _reserved[slot] = (until, left - 1)
            return True
    return False


def _reserve(items, key: str, cost: int) -> bool:
    strategy = limiter.limiter
    return all(strategy.hit(item, "api", key, cost=cost) for item in items)


def check(key: str) -> None:
    """Count one call for `key`; over the limit, 429 with Retry-After (seconds until the window frees a call)."""
    setting = current_app.config["STORECRM"].api_rate_limit
    slot = (setting, key)
    if _spend_reserved(slot):
        return
    items = _limits(setting)
    try:
        block = _block(items)
        if not _reserve(items, key, block):
            block = 1  # near the limit: one call at a time
            if not _reserve(items, key, 1):
                reset_at = max(limiter.limiter.get_window_stats(item, "api", key)[0] for item in items)
                raise TooManyRequests(description="Too many API calls; slow down.",
                                      retry_after=max(1, int(reset_at - time.time())))
    except TooManyRequests:
        raise
    except Exception:  # Redis unreachable: the API keeps answering (as RATELIMIT_SWALLOW_ERRORS does for pages)
        current_app.logger.warning("API rate limit not checked: its storage failed", exc_info=True)
        return
    if block > 1:
        with _lock:
            if len(_reserved) > 10_000:
                _reserved.clear()
            _reserved[slot] = (time.monotonic() + BLOCK_SECONDS, block - 1)


def forget() -> None:
    """Drop this process's reserved calls (tests reset the limiter's storage between tests)."""
    with _lock:
        _reserved.clear()


def check_user(user) -> None:
    check(f"user:{user.tenant_id}:{user.id}")


def check_anonymous() -> None:
    check(f"ip:{request.remote_addr}")
