"""Counting failed sign-ins per account and per client address, and refusing sign-in past a limit.

Two counters in the cache (Redis in production): one per account (the lower-cased email), one
per client address (an IPv6 client counts as its /64, which one household or server holds). A
counter is forgotten LOGIN_LOCKOUT_SECONDS after its latest failure. When one reaches its
limit, a lock key holding the time it ends is set for LOGIN_LOCKOUT_SECONDS; while it stands,
sign-in is refused before the password is checked, so a guess during a lock learns nothing.

A success forgets the account's failures, not the address's: otherwise an attacker could clear
their address by signing in to an account of their own between guesses.
"""

import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _account(username: str) -> str:
    return (username or "").strip().lower()


def _address(ip: str) -> str:
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip or ""
    if parsed.version == 6 and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _key(kind: str, value: str) -> str:
    # Hashed: an email or address of any length makes a short key, and the cache holds no emails.
    return f"login:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def _subjects(username: str, ip: str) -> list[tuple[str, str, int]]:
    subjects = []
    if _account(username):
        subjects.append(("account", _account(username), settings.LOGIN_MAX_FAILURES_PER_ACCOUNT))
    if _address(ip):
        subjects.append(("ip", _address(ip), settings.LOGIN_MAX_FAILURES_PER_IP))
    return subjects


def seconds_locked(*, username: str = "", ip: str = "") -> int:
    """How long sign-in stays refused for this account or address; 0 when it is allowed."""
    keys = [_key(f"lock:{kind}", value) for kind, value, _ in _subjects(username, ip)]
    until = max(cache.get_many(keys).values(), default=0)
    return max(0, math.ceil(until - time.time()))


def record_failure(*, username: str = "", ip: str = "") -> int:
    """Count one failed sign-in; returns ``seconds_locked`` afterwards."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    for kind, value, limit in _subjects(username, ip):
        key = _key(f"failures:{kind}", value)
        cache.add(key, 0, timeout=window)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            failures = 1
        # Every backend then forgets the count a full window after this failure (the file cache's
        # incr would otherwise reset the expiry to its default).
        cache.touch(key, timeout=window)
        if failures >= limit:
            cache.set(_key(f"lock:{kind}", value), time.time() + window, timeout=window)
            cache.delete(key)
            logger.warning("sign-in locked for %s seconds after %s failures: %s %s", window, failures, kind, value)
    return seconds_locked(username=username, ip=ip)


def forget_account(username: str) -> None:
    """After a successful sign-in or a password reset: the account starts from zero, unlocked."""
    value = _account(username)
    cache.delete_many([_key("failures:account", value), _key("lock:account", value)])


def locked_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}."
