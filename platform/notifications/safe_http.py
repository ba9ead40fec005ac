"""Outbound HTTP to an address a tenant typed in, without letting it reach the operator's own network (SSRF).

`resolve(url)` parses the URL (http or https, a host, no user name or password, a valid port), resolves the host
once and refuses it if *any* answer is not a global address; `post(target, …)` then connects to exactly the address
that was checked. Resolving again at connect time (what urllib or requests do) would let a DNS answer that changes
between the two lookups — rebinding — send the request to 127.0.0.1 or a cloud metadata service.

Refused: every address `ipaddress` does not call global (loopback, RFC 1918, link-local, CGNAT 100.64.0.0/10 — where
Alibaba Cloud's metadata service 100.100.100.200 lives —, ULA, unspecified, reserved), multicast, the cloud metadata
addresses by name, and the IPv6 forms that carry an IPv4 address to another network — IPv4-mapped (judged by the
address inside), 6to4 2002::/16, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, Teredo 2001::/32 — outright, since the
IPv4 inside may be anything. With STORECRM_WEBHOOKS_ALLOW_PRIVATE=1 (a self-hosted install whose receivers are on
its own network; the webhook tests' local receiver) non-global addresses are allowed, still pinned; the metadata
addresses never are.

Why urllib3: it is the HTTP layer under requests (already installed through stripe), and its connection pools take
the address to connect to and, separately, `server_hostname` for TLS: SNI and certificate verification (by Python's
ssl module, against the system trust store) use the name the tenant gave, while the TCP connection goes to the
pinned IP. The Host header is the original one. No redirect is followed (a 3xx is the answer) and nothing is
retried here: the outbox retries with backoff."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254"))
# IPv6 prefixes that tunnel or translate to IPv4: the IPv4 inside decides where the packet goes
IPV4_CARRIERS = tuple(ipaddress.ip_network(n) for n in ("2002::/16", "64:ff9b::/96", "64:ff9b:1::/48", "2001::/32"))


class RefusedURL(ValueError):
    """Why a URL may not be called; `kind` is one of "url", "credentials", "unresolvable", "not_public"."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`, `port`) and what to tell the server (`host_header`, `path`)."""
    scheme: str
    hostname: str
    port: int
    address: str
    host_header: str
    path: str


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip in METADATA:
        return False
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return is_public(str(ip.ipv4_mapped))
        if any(ip in net for net in IPV4_CARRIERS):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve(url: str, *, allow_private: bool = False) -> Target:
    """Check `url` and resolve its host once; raise RefusedURL, or return the Target to `post` to."""
    parts = urlsplit(url or "")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        hostname = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise RefusedURL("url", "not a valid http(s) URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise RefusedURL("url", "not a valid http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise RefusedURL("credentials", "the URL holds a user name or password")
    try:
        answers = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RefusedURL("unresolvable", f"{hostname} does not resolve") from None
    addresses = [info[4][0] for info in answers]
    if not addresses:
        raise RefusedURL("unresolvable", f"{hostname} does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip in METADATA or not (allow_private or is_public(address)):
            raise RefusedURL("not_public", f"{hostname} resolves to {address}, not a public address")
    literal = f"[{hostname}]" if ":" in hostname else hostname
    host_header = literal if parts.port is None else f"{literal}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, hostname, port, addresses[0], host_header, path)


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to the pinned address of `target`; return the HTTP status (3xx included). The answer's body is
    not read. Network and TLS failures raise (urllib3's exceptions)."""
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1,
                                           cert_reqs="CERT_REQUIRED", server_hostname=target.hostname)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1)
    with pool:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                                redirect=False, retries=False, assert_same_host=False, preload_content=False)
        try:
            return response.status
        finally:
            response.close()
