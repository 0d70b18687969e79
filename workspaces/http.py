"""Request helpers every app shares."""

import ipaddress

from django.conf import settings


def client_ip(meta) -> str:
    """The visitor's IP: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT=n the n-th X-Forwarded-For entry from the right.

    Entries to the left of those our own proxies appended are written by the client
    and can be forged, so they are never used.
    """
    remote = meta.get("REMOTE_ADDR", "") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            candidate = forwarded[-count]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return remote
    return remote
