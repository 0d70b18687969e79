"""What a click redirect does: find the link, read the visitor, record the click.

find_link answers from a short per-process memory for popular links, else one query;
record_click works out the offer's state and the destination, tells bots apart, and
hands the Click to store_click (tracking/clicks/buffer.py), which buffers it in Redis
or inserts it. The view is tracking/public_views.py:click.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime

from crawlerdetect import CrawlerDetect
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from offers import lib
from offers.models import Link, Member, Offer
from tracking.clicks.buffer import store_click
from tracking.clicks.payload import SUB_KEYS, clean_text, mint_transaction_id
from tracking.models import Click
from tracking.spool import DATABASE_DOWN
from workspaces.http import client_ip
from workspaces.public_paths import LINK_CODE_LENGTH

_crawlers = CrawlerDetect()


# --- the visitor ----------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """What a click needs from the request. The IP lives here only until it is hashed; rows keep the hash."""

    ip: str
    user_agent: str
    referrer: str
    is_head: bool = False


def header_text(value: str, limit: int) -> str:
    """A request header as stored text: WSGI hands header bytes over as latin-1, browsers send UTF-8."""
    if not value.isascii():
        value = value.encode("latin-1", "replace").decode("utf-8", "replace")
    return clean_text(value, limit)


def visitor_from_request(request) -> Visitor:
    meta = request.META
    return Visitor(
        ip=client_ip(meta),
        user_agent=header_text(meta.get("HTTP_USER_AGENT", ""), 512),
        referrer=header_text(meta.get("HTTP_REFERER", ""), 1024),
        is_head=request.method == "HEAD",
    )


def hash_ip(ip: str) -> str:
    """HMAC-SHA256 of the IP with IP_HASH_KEY: stable for reports, useless without the key."""
    if not ip:
        return ""
    return hmac.new(settings.IP_HASH_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


def visitor_key(visitor: Visitor) -> str:
    message = f"{visitor.ip}\n{visitor.user_agent}".encode()
    return hmac.new(settings.IP_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def is_bot(visitor: Visitor) -> bool:
    """HEAD requests, empty user agents and known crawlers (crawlerdetect's list)."""
    if visitor.is_head or not visitor.user_agent.strip():
        return True
    return _crawlers.is_crawler(visitor.user_agent)


def unique_key(*, link_id: int, visitor: Visitor) -> str:
    return f"clicks:u:{link_id}:{visitor_key(visitor)}"


# --- the link -------------------------------------------------------------


# code -> (expires at, Link or None). Per process; see find_link.
_link_cache: dict[str, tuple[float, Link | None]] = {}
LINK_CACHE_MAX = 20_000


def find_link(code: str) -> Link | None:
    """The link for ``code``, kept in this process for CLICK_LINK_CACHE_SECONDS.

    Popular links are clicked many times a second; remembering them briefly takes the
    only database query off most redirects. The price: pausing an offer or archiving a
    link reaches a running web process up to that many seconds later. Start and end
    dates are exact, because the offer's state is computed at each click. While the
    database is away, a link this process remembers keeps redirecting however old the
    memory; another raises spool.DATABASE_DOWN (the view answers 503).
    """
    ttl = settings.CLICK_LINK_CACHE_SECONDS
    if ttl <= 0:
        return query_link(code)
    now = time.monotonic()
    cached = _link_cache.get(code)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        link = query_link(code)
    except DATABASE_DOWN:
        if cached is None:
            raise
        # Better a link a little stale than no redirect while the database is away.
        return cached[1]
    if len(_link_cache) >= LINK_CACHE_MAX:
        _link_cache.clear()
    _link_cache[code] = (now + ttl, link)
    return link


def clear_link_cache() -> None:
    _link_cache.clear()


def query_link(code: str) -> Link | None:
    """The link whose code or vanity slug is ``code``, with its offer, connection and member; one query."""
    could_be_code = len(code) == LINK_CODE_LENGTH and code.isalnum()
    could_be_vanity = code == code.lower() and len(code) >= 3
    if could_be_code and could_be_vanity:
        match = Q(code=code) | Q(vanity=code)
    elif could_be_code:
        match = Q(code=code)
    else:
        match = Q(vanity=code)
    links = list(Link.objects.select_related("offer__connection", "member").filter(match)[:2])
    # A code wins over another link's vanity slug of the same spelling.
    links.sort(key=lambda link: link.code != code)
    return links[0] if links else None


def link_state(link: Link, when: datetime) -> str:
    """The offer's state for this click: active, paused, scheduled, expired, or archived."""
    if link.archived_at or link.offer.archived_at or link.member.status == Member.Status.ARCHIVED:
        return "archived"
    return link.offer.state_at(when)


def clean_subs(params) -> dict[str, str]:
    """sub1..sub5 passed on the click URL (``/c/<code>?sub1=story``), cleaned and bounded like the model."""
    subs = {}
    for key in SUB_KEYS:
        value = params.get(key)
        if value:
            value = clean_text(value, 255)
            if value:
                subs[key] = value
    return subs


# --- recording ------------------------------------------------------------


def record_click(
    *, link: Link, visitor: Visitor, deep_url: str | None = None, subs: dict | None = None, now=None
) -> Click:
    """Record one click on ``link`` and return it with ``destination`` set.

    The row is written now (direct) or by the drain (redis buffer); either way the
    returned Click's transaction_id is final.
    """
    now = now or timezone.now()
    offer, member = link.offer, link.member
    state = link_state(link, now)
    bot = is_bot(visitor)
    transaction_id = mint_transaction_id(now)
    if state == Offer.State.ACTIVE:
        destination = lib.build_destination(
            offer, link, member, transaction_id, now, deep_url=deep_url, subs=subs, user_agent=visitor.user_agent
        )
    else:
        destination = lib.build_inactive_destination(offer, link)
    sub_values = {key: (subs or {}).get(key) or getattr(link, key) for key in SUB_KEYS}
    click = Click(
        workspace_id=link.workspace_id,
        transaction_id=transaction_id,
        link_id=link.pk,
        offer_id=offer.pk,
        member_id=member.pk,
        created_at=now,
        ip_hash=hash_ip(visitor.ip),
        user_agent=visitor.user_agent,
        referrer=visitor.referrer,
        is_unique=False,
        is_bot=bot,
        offer_state=state,
        destination=destination[:2000],
        **sub_values,
    )
    # Bots never use up a visitor's unique click.
    store_click(click, unique_key=None if bot else unique_key(link_id=link.pk, visitor=visitor))
    return click
