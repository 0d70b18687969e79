"""Framework-free helpers of outbound delivery: signatures, secrets, retry times, target checks, macros."""

import base64
import hashlib
import hmac
import ipaddress
import random
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from urllib.parse import quote, urlsplit

SECRET_PREFIX = "whsec_"

# Seconds to wait before each attempt after the first (the Standard Webhooks schedule): 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h. The last try comes about 27 hours after the first, then we give up.
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2

# The macros a member postback URL may carry.
POSTBACK_MACROS = (
    "transaction_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "payout",
    "status",
    "conversion_id",
    "offer_id",
)


class UnsafeTarget(Exception):
    """A URL we refuse to call: not https, or its host is (or resolves to) a private address."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """Standard Webhooks signature: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: str) -> str:
    """Space-separated signatures, one per valid secret (a rotation overlap signs with both)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_ if s)


def retry_delay(attempts_made: int, *, rand: random.Random | None = None) -> timedelta | None:
    """How long to wait after ``attempts_made`` failed attempts, with ±20 % jitter; None: give up."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    spread = (rand or random).uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=base * spread)


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url_shape(url: str) -> str:
    """The host of an https URL we may call, or UnsafeTarget saying why not (before any DNS)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("The URL cannot be read.") from None
    if parts.scheme.lower() != "https":
        raise UnsafeTarget("The URL must start with https://.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeTarget("The URL may not carry a user name or password.")
    if port is not None and not 0 < port < 65536:
        raise UnsafeTarget("The URL's port is out of range.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return host
    if not is_public_address(str(literal)):
        raise UnsafeTarget(f"{host} is a private, loopback or link-local address.")
    return host


def fill_macros(template: str, values: Mapping[str, object]) -> str:
    """``template`` with each ``{macro}`` replaced by its URL-encoded value (unknown ones left alone)."""
    out = template
    for name in POSTBACK_MACROS:
        value = values.get(name)
        out = out.replace("{" + name + "}", quote("" if value is None else str(value), safe=""))
    return out


def unknown_macros(template: str) -> list[str]:
    return sorted({m for m in re.findall(r"\{([^{}]*)\}", template) if m not in POSTBACK_MACROS})


def excerpt(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
