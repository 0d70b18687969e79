"""Custom tracking domains: add one, verify it by DNS, make it primary, and find the workspace of a host.

``SITE_URL``'s host (and any other host in ALLOWED_HOSTS that is not a tracking domain)
serves every workspace's links. A verified tracking domain serves only its workspace's:
a code of another workspace on it is a 404. Links are shown with the workspace's
primary verified domain, else with SITE_URL. A TLS-terminating proxy asks
``/tls/ask?domain=<host>`` before it issues a certificate (``domain_is_served``).

Lookups by host are remembered in this process for DOMAIN_CACHE_SECONDS (a click must
not pay a query for it); every change here forgets them in this process, and other
processes see it within that time.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import idna
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from workspaces.errors import DomainError
from workspaces.models import TrackingDomain, Workspace

DOMAIN_CACHE_SECONDS = 30
MAX_DOMAINS = 20
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_hosts: dict[str, tuple[float, int | None]] = {}
_primary: dict[int, tuple[float, str]] = {}


def forget_cached_domains() -> None:
    _hosts.clear()
    _primary.clear()


def normalise_host(text: str) -> str:
    """``Go.Brand.com`` -> ``go.brand.com`` (IDNA for non-ASCII names); raises DomainError."""
    host = text.strip().lower().rstrip(".")
    if "://" in host:
        host = urlsplit(host).hostname or ""
    try:
        host = idna.encode(host, uts46=True).decode("ascii") if host else ""
    except idna.IDNAError:
        raise DomainError("That is not a valid host name.") from None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise DomainError("Enter a host name such as go.brand.com (no scheme, path or port).")
    if labels[-1].isdigit():
        raise DomainError("Enter a host name, not an IP address.")
    site_host = (urlsplit(settings.SITE_URL).hostname or "").lower()
    if host == site_host:
        raise DomainError("That is the hub's own address (SITE_URL); it serves every workspace already.")
    return host


def add_tracking_domain(*, workspace: Workspace, host: str) -> TrackingDomain:
    host = normalise_host(host)
    if TrackingDomain.objects.filter(workspace=workspace).count() >= MAX_DOMAINS:
        raise DomainError(f"A workspace has at most {MAX_DOMAINS} tracking domains.")
    try:
        with transaction.atomic():
            return TrackingDomain.objects.create(workspace=workspace, host=host)
    except IntegrityError:
        raise DomainError(f"{host} is already added to a workspace.") from None


def txt_records(name: str) -> list[str]:
    """The TXT strings published at ``name`` (none when it has none); raises DomainError on a DNS failure."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=5)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise DomainError(f"The DNS lookup of {name} failed ({exc.__class__.__name__}); try again later.") from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


def verify_tracking_domain(*, domain: TrackingDomain, lookup=None) -> bool:
    """Look for the domain's TXT record; mark it verified when found. ``lookup`` is the DNS query (txt_records)."""
    now = timezone.now()
    lookup = lookup or txt_records
    try:
        found = domain.txt_value in [value.strip() for value in lookup(domain.txt_name)]
        message = "" if found else f"No TXT record {domain.txt_value} at {domain.txt_name} yet."
    except DomainError as exc:
        found, message = False, exc.message
    domain.checked_at, domain.check_message = now, message[:300]
    fields = ["checked_at", "check_message", "updated_at"]
    if found and domain.verified_at is None:
        domain.verified_at = now
        fields.append("verified_at")
    domain.save(update_fields=fields)
    forget_cached_domains()
    return found


@transaction.atomic
def make_primary(*, domain: TrackingDomain) -> None:
    """Show the workspace's links with this (verified) domain."""
    if domain.verified_at is None:
        raise DomainError("Verify the domain first: links must not point at a host that does not serve them.")
    TrackingDomain.objects.filter(workspace_id=domain.workspace_id, is_primary=True).update(is_primary=False)
    TrackingDomain.objects.filter(pk=domain.pk).update(is_primary=True)
    forget_cached_domains()


def remove_tracking_domain(*, domain: TrackingDomain) -> None:
    """Stop serving clicks on the domain (links shared with it stop working)."""
    domain.delete()
    forget_cached_domains()


def own_hosts() -> set[str]:
    """The hub's own hosts, which serve every workspace: SITE_URL's and those ALLOWED_HOSTS names exactly."""
    hosts = {h.lower() for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")}
    hosts.add((urlsplit(settings.SITE_URL).hostname or "").lower())
    return hosts


def workspace_of_host(host: str) -> int | None:
    """The workspace id whose verified tracking domain ``host`` is (port ignored), else None.

    The hub's own hosts are answered without a lookup, so a click on them costs no query;
    a tracking domain reaches the hub through a wildcard in ALLOWED_HOSTS (README).
    """
    host = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
    if not host or host in own_hosts():
        return None
    now = time.monotonic()
    cached = _hosts.get(host)
    if cached is not None and cached[0] > now:
        return cached[1]
    workspace_id = (
        TrackingDomain.objects.filter(host=host, verified_at__isnull=False)
        .values_list("workspace_id", flat=True)
        .first()
    )
    if len(_hosts) > 10_000:
        _hosts.clear()
    _hosts[host] = (now + DOMAIN_CACHE_SECONDS, workspace_id)
    return workspace_id


def domain_is_served(host: str) -> bool:
    """Whether the hub answers for ``host``: a verified tracking domain (the proxy's certificate question)."""
    try:
        return workspace_of_host(normalise_host(host)) is not None
    except DomainError:
        return False


def tracking_base_url(workspace_id: int) -> str:
    """``https://<primary domain>`` for the workspace, else SITE_URL: where its links are shown."""
    now = time.monotonic()
    cached = _primary.get(workspace_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    host = (
        TrackingDomain.objects.filter(workspace_id=workspace_id, is_primary=True, verified_at__isnull=False)
        .values_list("host", flat=True)
        .first()
    )
    base = f"https://{host}" if host else settings.SITE_URL
    if len(_primary) > 10_000:
        _primary.clear()
    _primary[workspace_id] = (now + DOMAIN_CACHE_SECONDS, base)
    return base
