"""The link monitor: follow each active offer's URL (and deep links in use) as a click would, from the worker.

A check builds the URL a click would be sent to, with a marker as the click id, and follows
its redirects one hop at a time (a timeout per hop, at most MAX_HOPS, every hop through the
private-address check). The offer is broken when:
- a hop times out, cannot connect, loops back to a URL already seen, or redirects too often;
- the landing page answers 4xx or 5xx;
- the click id is lost on the way to where the network reads it: a hop that carried it (in
  ``subId1``, ``afftrack``, ``clickref2`` or the offer URL's own macro parameter) redirects
  to a URL on the same host, or to a network's tracking host, without it. Handing over to
  another site (the network sending the visitor on to the shop) may drop it: by then the
  network has read it.
"""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
from django.utils import timezone

from offers.lib import (
    DEVICES,
    clean_destination,
    compose_destination,
    device_url,
    offer_network,
    offer_utm,
    targeted_url,
)
from offers.models import Link, Offer
from outbound.lib import UnsafeTarget
from outbound.models import AlertSettings, LinkCheck
from outbound.transport import check_target, guarded_client

MAX_HOPS = 10
HOP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEEP_LINKS_PER_OFFER = 3
ID_PARAMS = {"subid1", "afftrack", "clickref2"}
# Tracking hosts of the networks we know: losing the click id on the way to one of these is losing it.
NETWORK_HOSTS = ("sjv.io", "pxf.io", "ojrq.net", "7eer.net", "evyy.net", "impact.com", "shareasale.com", "awin1.com")


@dataclass
class Chain:
    ok: bool = True
    problem: str = ""
    final_status: int | None = None
    hops: list[dict] = field(default_factory=list)

    def fail(self, problem: str) -> "Chain":
        self.ok, self.problem = False, problem[:300]
        return self


def id_params_of(offer_url: str) -> set[str]:
    """Where a network reads our click id: the usual names, and the offer URL's own macro parameter."""
    own = {
        k.lower() for k, v in parse_qsl(urlsplit(offer_url).query, keep_blank_values=True) if "{transaction_id}" in v
    }
    return ID_PARAMS | own


def carries_id(url: str, click_id: str, params: set[str]) -> bool:
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return any(k.lower() in params and click_id in v for k, v in query)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _network_host(host: str) -> bool:
    return any(host == h or host.endswith("." + h) for h in NETWORK_HOSTS)


def follow_chain(url: str, *, click_id: str, params: set[str], client: httpx.Client, max_hops: int = MAX_HOPS) -> Chain:
    chain, current, seen = Chain(), url, set()
    for _ in range(max_hops + 1):
        if current in seen:
            return chain.fail(f"Redirect loop: {current} was reached twice.")
        seen.add(current)
        try:
            if urlsplit(current).scheme not in ("http", "https"):
                raise UnsafeTarget(f"{current} is not an http(s) URL.")
            check_target(current, https_only=False)
            with client.stream("GET", current) as response:
                status, location = response.status_code, response.headers.get("location")
        except UnsafeTarget as exc:
            return chain.fail(f"Refused: {exc}")
        except httpx.TimeoutException:
            return chain.fail(f"Timed out waiting for {current}.")
        except httpx.HTTPError as exc:
            return chain.fail(f"Could not reach {current}: {exc}")
        chain.hops.append({"url": current, "status": status, "carries_id": carries_id(current, click_id, params)})
        chain.final_status = status
        if 300 <= status < 400 and location:
            current = urljoin(current, location)
            continue
        if status >= 400:
            return chain.fail(f"{current} answered {status}.")
        return _check_id(chain)
    return chain.fail(f"More than {max_hops} redirects.")


def _check_id(chain: Chain) -> Chain:
    hops = chain.hops
    if not hops[0]["carries_id"]:
        return chain.fail("The offer URL does not carry the click id where the network can read it.")
    for before, after in zip(hops, hops[1:], strict=False):
        if before["carries_id"] and not after["carries_id"]:
            host = _host(after["url"])
            if host == _host(before["url"]) or _network_host(host):
                return chain.fail(f"{_host(before['url'])} redirected to {after['url']} without the click id.")
            break  # handed over to another site: the network has read it
    return chain


def click_url(offer: Offer, click_id: str, deep_url: str = "", device: str = "") -> str:
    """Where a click with ``click_id`` would be sent, from a ``device`` ("ios", "android" or "")
    (the macros a check has no real value for are empty)."""
    values = {"transaction_id": click_id, "offer_id": str(offer.code), "affiliate_id": "linkcheck"}
    return compose_destination(
        offer_url=targeted_url(offer, device, deep_link=bool(deep_url)),
        network=offer_network(offer),
        values=values,
        utm=offer_utm(offer),
        deep_url=deep_url or None,
    )


def check_offer_links(*, offer: Offer, client: httpx.Client | None = None) -> list[LinkCheck]:
    """Check the offer URL, its device URLs and up to DEEP_LINKS_PER_OFFER deep links in use; pause a
    broken offer if the owner asked for it and it has a fallback URL."""
    own_client = client is None
    client = client or guarded_client(timeout=HOP_TIMEOUT)
    in_use = (
        Link.objects.filter(offer=offer, archived_at=None)
        .exclude(destination_url="")
        .values_list("destination_url", flat=True)
        .distinct()[: DEEP_LINKS_PER_OFFER * 2]
    )
    # Only those a click would still follow (the offer's allowed domains may have changed since).
    deep_links = [d for d in in_use if clean_destination(d, offer.allowed_domain_list)][:DEEP_LINKS_PER_OFFER]
    devices = [device for device in DEVICES if device_url(offer, device)]
    targets = [("", ""), *((device, "") for device in devices), *(("", deep) for deep in deep_links)]
    checks = []
    try:
        for device, deep in targets:
            click_id = "linkcheck" + secrets.token_hex(12)
            url = click_url(offer, click_id, deep, device)
            params = id_params_of(targeted_url(offer, device, deep_link=bool(deep)))
            chain = follow_chain(url, click_id=click_id, params=params, client=client)
            checks.append(
                LinkCheck.objects.create(
                    workspace_id=offer.workspace_id,
                    offer=offer,
                    url=url,
                    deep_link=deep,
                    device=device,
                    ok=chain.ok,
                    problem=chain.problem,
                    final_status=chain.final_status,
                    hops=chain.hops,
                )
            )
    finally:
        if own_client:
            client.close()
    if not all(c.ok for c in checks):
        _maybe_fall_back(offer, checks)
    return checks


def _maybe_fall_back(offer: Offer, checks: list[LinkCheck]) -> None:
    config = AlertSettings.objects.filter(workspace_id=offer.workspace_id).first()
    if config is None or not config.link_auto_fallback or not offer.fallback_url or offer.paused:
        return
    from offers.services import pause_offer

    pause_offer(offer=offer)


def active_offers(workspace_id=None):
    now = timezone.now()
    qs = Offer.objects.filter(archived_at=None, paused=False).exclude(ends_at__lte=now).exclude(starts_at__gt=now)
    return qs.filter(workspace_id=workspace_id) if workspace_id else qs


def latest_checks(offer: Offer) -> list[LinkCheck]:
    """The newest check of each URL of the offer's last run, in the order they were checked
    (the offer URL, its device URLs, then deep links)."""
    newest = LinkCheck.objects.filter(offer=offer).order_by("-checked_at").first()
    if newest is None:
        return []
    run_start = newest.checked_at - timedelta(minutes=10)
    rows = LinkCheck.objects.filter(offer=offer, checked_at__gte=run_start).order_by("-checked_at")
    seen, latest = set(), []
    for row in rows:
        if (row.device, row.deep_link) not in seen:
            seen.add((row.device, row.deep_link))
            latest.append(row)
    return latest[::-1]


def check_links_all_workspaces() -> tuple[int, int]:
    """The daily run: every active offer of every workspace; returns (offers checked, offers broken)."""
    checked = broken = 0
    with guarded_client(timeout=HOP_TIMEOUT) as client:
        for offer in active_offers().select_related("connection").order_by("workspace_id", "id"):
            checks = check_offer_links(offer=offer, client=client)
            checked += 1
            broken += not all(c.ok for c in checks)
    return checked, broken
