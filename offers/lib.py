"""Pure helpers for offer URLs: macros, UTM parameters, deep links and destinations.

No database access here; the click redirect, the offer form's validation and the
live link preview all build on these functions.

How a click's destination is built (``build_destination``):

1. The offer URL is the network's tracking URL (or the brand's landing page for a
   generic offer). Macros such as ``{transaction_id}`` are substituted into it, each
   value URL-encoded.
2. A deep link (``?url=`` on the click, else the link's own destination) is used only
   when its host is one of the offer's allowed domains. Where it goes depends on the
   network, because each network carries the landing page in its own parameter:

   - impact.com: ``u=<deep link>`` on the tracking URL;
   - ShareASale: ``urllink=<deep link without http(s)://>`` (replacing one already there);
   - Awin: ``ued=<deep link>``;
   - generic: the deep link replaces the landing URL, and the offer URL's query
     parameters that carry macros (``tid={transaction_id}``) are copied onto it, so the
     click stays attributable.

3. Without a deep link, a click from an iPhone or iPad, or from an Android device, goes
   through the offer's iOS or Android URL when it has one (device targeting: an app
   store or app link through the network), with the same macros.
4. UTM parameters go where the visitor lands: onto the deep link when there is one,
   else onto the offer URL. A parameter the URL already has is never overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import idna

MACROS = frozenset({"transaction_id", "affiliate_id", "offer_id", "sub1", "sub2", "sub3", "sub4", "sub5", "click_time"})
MACRO_RE = re.compile(r"\{([A-Za-z0-9_]+)\}")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

# Tracking protocols (values of offers.models.Protocol) and the macro each one needs.
REQUIRED_MACROS = {
    "server_postback_transaction_id": ("transaction_id",),
    "https_image_pixel": ("transaction_id",),
    "server_postback_affiliate_id": ("affiliate_id",),
}

# Parameters each network reads from its tracking link (networks.md 1.8, 2.5).
NETWORK_TRACKING_PARAMS = {
    "impact": (("subId1", "{transaction_id}"), ("subId2", "{affiliate_id}")),
    "shareasale": (("afftrack", "{transaction_id}"),),
    "awin": (("clickref2", "{transaction_id}"),),
}
# The query parameter that carries a deep link on each network's tracking link.
DEEP_LINK_PARAM = {"impact": "u", "shareasale": "urllink", "awin": "ued"}

SAMPLE_VALUES = {
    "transaction_id": "3f9c2a7be1d04c58a6b0d2e4f7a81c93",
    "affiliate_id": "m1a2b3c4d5e",
    "offer_id": "0b6f7c1e-5d1a-4c7e-9a51-2f0f3a9d8e11",
    "click_time": "2026-01-15T12:00:00Z",
}

_HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# --- macros ---------------------------------------------------------------


def find_macros(url: str) -> list[str]:
    """Every ``{name}`` in the URL, in order of first appearance, known or not."""
    seen: list[str] = []
    for name in MACRO_RE.findall(url or ""):
        if name not in seen:
            seen.append(name)
    return seen


def unknown_macros(url: str) -> list[str]:
    return [name for name in find_macros(url) if name not in MACROS]


def missing_macros(url: str, protocol: str) -> list[str]:
    """Macros the tracking protocol needs that the offer URL does not contain."""
    present = set(find_macros(url))
    return [name for name in REQUIRED_MACROS.get(protocol, ()) if name not in present]


def substitute(url: str, values: Mapping[str, object]) -> str:
    """Replace each known ``{macro}`` with its URL-encoded value (empty when absent).

    Unknown ``{names}`` are left alone: the offer form rejects them, and a brace in a
    stored URL is never worth a failed redirect.
    """

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in MACROS:
            return match.group(0)
        value = values.get(name)
        return quote("" if value is None else str(value), safe="")

    return MACRO_RE.sub(replace, url)


def format_click_time(when: datetime) -> str:
    """``{click_time}``: ISO 8601 in UTC to the second, e.g. ``2026-01-15T12:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- query strings --------------------------------------------------------


def query_keys(url: str) -> set[str]:
    return {key for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def add_query_params(url: str, params: Iterable[tuple[str, str]], *, replace: bool = False, safe: str = "") -> str:
    """Append ``params`` to the URL's query, keeping the existing query as it is.

    A key the URL already has is skipped, or with ``replace=True`` dropped from the
    existing query first (compared case-insensitively). The fragment stays at the end.
    """
    parts = urlsplit(url)
    params = [(k, v) for k, v in params]
    existing = parts.query
    if replace:
        keys = {k.lower() for k, _ in params}
        kept = [piece for piece in existing.split("&") if piece and piece.split("=", 1)[0].lower() not in keys]
        existing = "&".join(kept)
    else:
        present = {k for k, _ in parse_qsl(existing, keep_blank_values=True)}
        params = [(k, v) for k, v in params if k not in present]
    if not params:
        return urlunsplit(parts._replace(query=existing))
    addition = urlencode(params, quote_via=quote, safe=safe)
    query = f"{existing}&{addition}" if existing else addition
    return urlunsplit(parts._replace(query=query))


def append_utm(url: str, params: Mapping[str, str]) -> str:
    """Add the non-empty ``utm_*`` parameters the URL does not already have."""
    wanted = [(key, params[key]) for key in UTM_KEYS if params.get(key)]
    return add_query_params(url, wanted)


def offer_utm(offer, link=None) -> dict[str, str]:
    """The offer's UTM parameters with the link's overrides applied."""
    utm = {key: getattr(offer, key, "") or "" for key in UTM_KEYS}
    overrides = getattr(link, "utm_overrides", None) or {}
    if isinstance(overrides, dict):
        for key, value in overrides.items():
            if key in UTM_KEYS and isinstance(value, str):
                utm[key] = value
    return utm


def network_tracking_params(kind: str) -> list[tuple[str, str]]:
    """The parameters a network reads our ids from, e.g. ``afftrack={transaction_id}``."""
    return list(NETWORK_TRACKING_PARAMS.get(kind, ()))


def add_tracking_params(url: str, kind: str) -> str:
    """The offer URL with the network's tracking parameters added where missing.

    Added literally (``subId1={transaction_id}``) so the braces stay readable.
    """
    parts = urlsplit(url)
    present = {k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [f"{k}={v}" for k, v in network_tracking_params(kind) if k.lower() not in present]
    if not extra:
        return url
    query = "&".join([parts.query, *extra]) if parts.query else "&".join(extra)
    return urlunsplit(parts._replace(query=query))


# --- deep-link safety -----------------------------------------------------


def normalise_host(host: str) -> str | None:
    """Lower-case ASCII (IDNA/punycode) form of a host name, or None if it is not one."""
    if not host or len(host) > 253:
        return None
    host = host.rstrip(".") if host.count(".") and host.endswith(".") else host
    if any(ch in host for ch in "%\\/@:?#[] ") or any(ord(ch) < 33 or ord(ch) == 127 for ch in host):
        return None
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    ascii_host = ascii_host.lower()
    if not all(_HOST_LABEL_RE.match(label) for label in ascii_host.split(".")):
        return None
    return ascii_host


def normalise_domain_entry(entry: str) -> str | None:
    """An allowed-domain entry (``shop.example.com`` or ``*.example.com``), normalised."""
    entry = (entry or "").strip()
    if entry.startswith("*."):
        host = normalise_host(entry[2:])
        return f"*.{host}" if host and "." in host else None
    return normalise_host(entry)


def parse_domain_list(text: str) -> list[str]:
    """Allowed domains from the offer's text (one per line or comma-separated)."""
    return [d.strip() for d in (text or "").replace(",", "\n").splitlines() if d.strip()]


def host_matches(host: str, allowed_domains: Iterable[str]) -> bool:
    for entry in allowed_domains:
        rule = normalise_domain_entry(entry)
        if rule is None:
            continue
        if rule.startswith("*."):
            # Subdomains only: "*.example.com" allows shop.example.com, not example.com.
            if host.endswith(rule[1:]):
                return True
        elif host == rule:
            return True
    return False


def clean_destination(url: str, allowed_domains: Iterable[str]) -> str | None:
    """The deep link with its host in ASCII form if it may be redirected to, else None.

    Allowed: an absolute http(s) URL whose host is an allowed domain. Refused: other
    schemes, scheme-relative (``//evil``) and relative URLs, userinfo (``user@host``),
    backslashes, whitespace and control characters anywhere, and hosts that do not
    survive IDNA normalisation. Comparison is case-insensitive.
    """
    if not isinstance(url, str) or not url or len(url) > 2000:
        return None
    if "\\" in url or any(ord(ch) < 33 or ord(ch) == 127 or ch.isspace() for ch in url):
        return None
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return None
    raw_host = parts.netloc.rsplit(":", 1)[0] if port is not None or parts.netloc.endswith(":") else parts.netloc
    if raw_host.startswith("["):
        return None  # IPv6 literals are never a brand's shop domain.
    host = normalise_host(raw_host)
    if host is None or not host_matches(host, allowed_domains):
        return None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def is_allowed_destination(url: str, allowed_domains: Iterable[str]) -> bool:
    """True when ``url`` is a safe deep link to one of ``allowed_domains``."""
    return clean_destination(url, list(allowed_domains)) is not None


# --- destinations ---------------------------------------------------------

_SHAREASALE_HOSTS = ("shareasale.com", "shareasale-analytics.com")
_AWIN_HOSTS = ("awin1.com",)
_IMPACT_PATH_RE = re.compile(r"^/c/\d+/\d+/\d+")


def detect_network(offer_url: str) -> str:
    """Guess the network from the offer URL's shape (used when no connection is set)."""
    try:
        parts = urlsplit(offer_url)
    except ValueError:
        return "generic"
    host = (parts.hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in _SHAREASALE_HOSTS):
        return "shareasale"
    if any(host == h or host.endswith("." + h) for h in _AWIN_HOSTS):
        return "awin"
    if _IMPACT_PATH_RE.match(parts.path):
        return "impact"
    return "generic"


def _macro_params(offer_url: str, values: Mapping[str, object]) -> list[tuple[str, str]]:
    """Query parameters of the offer URL that carry a macro, with values substituted."""
    params = []
    for key, value in parse_qsl(urlsplit(offer_url).query, keep_blank_values=True):
        if MACRO_RE.search(value):
            params.append((key, _substitute_raw(value, values)))
    return params


def _substitute_raw(text: str, values: Mapping[str, object]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in MACROS:
            return match.group(0)
        value = values.get(name)
        return "" if value is None else str(value)

    return MACRO_RE.sub(replace, text)


def compose_destination(
    *,
    offer_url: str,
    network: str,
    values: Mapping[str, object],
    utm: Mapping[str, str] | None = None,
    deep_url: str | None = None,
) -> str:
    """The final URL for a click from plain values; ``deep_url`` must already be checked."""
    utm = utm or {}
    if not deep_url:
        template = _with_utm(offer_url, tuple(sorted(utm.items())))
        if template is not _UTM_AFTER_SUBSTITUTION:
            return substitute(template, values)
        return append_utm(substitute(offer_url, values), utm)
    tracked = substitute(offer_url, values)
    landing = append_utm(deep_url, utm)
    param = DEEP_LINK_PARAM.get(network)
    if param == "urllink":
        # ShareASale wants the destination without its scheme, with ? = & encoded.
        landing = re.sub(r"^https?://", "", landing, flags=re.IGNORECASE)
        return add_query_params(tracked, [(param, landing)], replace=True, safe="/")
    if param:
        return add_query_params(tracked, [(param, landing)], replace=True)
    # Generic: our tracking parameters always win over ones the deep link brings.
    return add_query_params(landing, _macro_params(offer_url, values), replace=True)


_UTM_AFTER_SUBSTITUTION = "\x00utm-after-substitution"


@lru_cache(maxsize=1024)
def _with_utm(offer_url: str, utm: tuple[tuple[str, str], ...]) -> str:
    """The offer URL template with its UTM parameters added, computed once per template.

    Adding UTM parameters before the macros are substituted gives the same URL as after:
    substituted values are percent-encoded, so they cannot add or remove query keys. A
    template with a macro inside a query key is the exception and takes the long way.
    """
    if any(MACRO_RE.search(key) for key in query_keys(offer_url)):
        return _UTM_AFTER_SUBSTITUTION
    return append_utm(offer_url, dict(utm))


def offer_network(offer) -> str:
    connection = getattr(offer, "connection", None) if getattr(offer, "connection_id", None) else None
    return connection.kind if connection is not None else detect_network(offer.offer_url)


def macro_values(*, offer, link, member, transaction_id: str, click_time: datetime, subs=None) -> dict:
    """Values for the macros of one click; ``subs`` (sub1..sub5) override the link's."""
    values = {
        "transaction_id": transaction_id,
        "affiliate_id": member.affiliate_id,
        "offer_id": str(offer.code),
        "click_time": format_click_time(click_time),
    }
    for i in range(1, 6):
        key = f"sub{i}"
        values[key] = (subs or {}).get(key) or getattr(link, key, "") or ""
    return values


def pick_deep_link(*, offer, link, deep_url: str | None) -> str | None:
    """The ``?url=`` deep link if allowed, else the link's destination if allowed, else None."""
    allowed = parse_domain_list(offer.allowed_domains)
    for candidate in (deep_url, getattr(link, "destination_url", "")):
        if candidate:
            cleaned = clean_destination(candidate, allowed)
            if cleaned:
                return cleaned
    return None


# Device targeting: each system an offer may send elsewhere, with the name of its URL; the
# offer's field is "<system>_url" (Offer.ios_url, Offer.android_url).
DEVICES = {"ios": "iOS URL", "android": "Android URL"}
# User-agent words that name the device's system. iPadOS asks for desktop sites by default
# and then says "Macintosh"; such an iPad counts as a desktop.
IOS_MARKERS = ("iPhone", "iPad", "iPod")
ANDROID_MARKER = "Android"


def device_of(user_agent: str) -> str:
    """The system a browser's user agent names: "ios", "android" or "" (any other)."""
    if any(marker in user_agent for marker in IOS_MARKERS):
        return "ios"
    if ANDROID_MARKER in user_agent:
        return "android"
    return ""


def device_url(offer, device: str) -> str:
    """The offer's own URL for ``device`` (a key of DEVICES), "" when it has none."""
    return getattr(offer, f"{device}_url", "") if device in DEVICES else ""


def targeted_url(offer, device: str, *, deep_link: bool = False) -> str:
    """The URL a click from ``device`` ("ios", "android" or "") goes through: the offer's URL for
    that system when it has one, else the offer URL; always the offer URL for a deep link."""
    return offer.offer_url if deep_link else device_url(offer, device) or offer.offer_url


def build_destination(offer, link, member, transaction_id, click_time, deep_url=None, subs=None, user_agent="") -> str:
    """Where one click on an active offer goes (see the module docstring).

    A deep link goes through the offer URL; otherwise a phone's click goes through the
    offer's URL for its system, when the offer has one (``user_agent`` tells).
    """
    landing = pick_deep_link(offer=offer, link=link, deep_url=deep_url)
    # Most offers have no device URLs: their clicks skip reading the user agent.
    device = device_of(user_agent) if offer.ios_url or offer.android_url else ""
    return compose_destination(
        offer_url=targeted_url(offer, device, deep_link=landing is not None),
        network=offer_network(offer),
        values=macro_values(
            offer=offer, link=link, member=member, transaction_id=transaction_id, click_time=click_time, subs=subs
        ),
        utm=offer_utm(offer, link),
        deep_url=landing,
    )


def build_inactive_destination(offer, link=None) -> str:
    """Where a click on a paused, scheduled or expired offer goes.

    The fallback URL when the offer has one; otherwise the offer URL with every macro
    left empty, so the visitor still reaches the brand but no conversion can be
    attributed to a click on an inactive offer.
    """
    if offer.fallback_url:
        return offer.fallback_url
    return append_utm(substitute(offer.offer_url, {}), offer_utm(offer, link))


def preview_destination(
    *,
    offer_url: str,
    network: str = "",
    utm: Mapping[str, str] | None = None,
    allowed_domains: Iterable[str] | str = (),
    deep_url: str | None = None,
    values: Mapping[str, object] | None = None,
) -> str:
    """The destination of a sample click, for live previews of an unsaved offer or link.

    Raises ValueError when ``deep_url`` is given but not allowed.
    """
    if isinstance(allowed_domains, str):
        allowed_domains = parse_domain_list(allowed_domains)
    cleaned = None
    if deep_url:
        cleaned = clean_destination(deep_url, list(allowed_domains))
        if cleaned is None:
            raise ValueError("The deep link's domain is not one of the offer's allowed domains.")
    merged = {**SAMPLE_VALUES, **(values or {})}
    return compose_destination(
        offer_url=offer_url,
        network=network or detect_network(offer_url),
        values=merged,
        utm=utm,
        deep_url=cleaned,
    )
