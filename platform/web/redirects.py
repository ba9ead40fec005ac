"""Where a `next` parameter may send the browser: only to a path on this site.

Browsers are lenient about what they treat as another host: `//evil`, `/\\evil`, `/%09/evil` (Werkzeug drops the tab,
leaving `//evil`) and `\\evil` all leave the site. So the target is normalised the way a browser would read it
(control characters and whitespace removed, backslashes as slashes), parsed, and accepted only when it has neither a
scheme nor a host and is a path from the root.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

_INVISIBLE = re.compile(r"[\x00-\x20\x7f]")


def safe_next(target: str | None, default: str, *, within: str | None = None) -> str:
    """`target` if it is a path on this site (and, with `within`, under that prefix), else `default`."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    seen = _INVISIBLE.sub("", target).replace("\\", "/")
    parts = urlsplit(seen)
    if parts.scheme or parts.netloc or not seen.startswith("/") or seen.startswith("//"):
        return default
    if within and not seen.startswith(within):
        return default
    return seen
