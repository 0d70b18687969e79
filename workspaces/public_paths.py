"""The public paths, written once: what visitors' browsers and networks' servers call.

    /c/<code or vanity slug>        the click redirect
    /postback/<network>/<secret>    a network's postback (GET or POST)
    /pixel/<secret>.gif             a thank-you page's conversion pixel

Everything that routes or prints these paths imports them from here: the WSGI entry
point (config/handlers.py), the settings (SSL redirect exemptions), the workspace
middleware (which skips them), tracking's URL patterns and plain WSGI application
(tracking/urls.py, tracking/endpoints.py), the click redirect, and the link model. So
do the headers the public answers carry. Plain values and small functions only, at the
bottom of the import order: config/settings.py imports this module.
"""

from __future__ import annotations

from django.conf import settings

CLICK_PREFIX = "/c/"
POSTBACK_PREFIX = "/postback/"
PIXEL_PREFIX = "/pixel/"
PUBLIC_PREFIXES = (CLICK_PREFIX, POSTBACK_PREFIX, PIXEL_PREFIX)

# For SECURE_REDIRECT_EXEMPT: some networks' test tools call these over plain HTTP.
SSL_REDIRECT_EXEMPT = [f"^{prefix[1:]}" for prefix in PUBLIC_PREFIXES]

# Link codes: 8 characters of [A-Za-z0-9]; vanity slugs: lower-case words and dashes.
LINK_CODE_LENGTH = 8
LINK_CODE_REGEX = rf"[A-Za-z0-9]{{{LINK_CODE_LENGTH}}}"
VANITY_REGEX = r"[a-z0-9][a-z0-9-]{2,49}"
# Network names and secrets: what Django's <slug:> path converter accepts.
SLUG_REGEX = r"[-a-zA-Z0-9_]+"

# The paths as regular expressions without their leading slash, as re_path() takes them.
# Django's URL patterns (tracking/urls.py) and the plain WSGI application for postbacks
# and pixels (tracking/endpoints.py) match these same expressions, so they cannot disagree
# about which requests exist. A malformed link code never reaches the click view: it
# falls through to CLICK_ANY_PATH, the 404 page that costs no query.
CLICK_PATH = rf"{CLICK_PREFIX[1:]}(?P<code>{LINK_CODE_REGEX}|{VANITY_REGEX})"
CLICK_ANY_PATH = rf"{CLICK_PREFIX[1:]}(?P<anything>.+)"
POSTBACK_PATH = rf"{POSTBACK_PREFIX[1:]}(?P<network>{SLUG_REGEX})/(?P<secret>{SLUG_REGEX})"
PIXEL_PATH = rf"{PIXEL_PREFIX[1:]}(?P<secret>{SLUG_REGEX})\.gif"


def is_public(path: str) -> bool:
    """True for a path served without sessions, logins or CSRF (config/handlers.py)."""
    return path.startswith(PUBLIC_PREFIXES)


def click_path(code: str) -> str:
    return f"{CLICK_PREFIX}{code}"


def postback_path(network: str, secret: str) -> str:
    return f"{POSTBACK_PREFIX}{network}/{secret}"


def pixel_path(secret: str) -> str:
    return f"{PIXEL_PREFIX}{secret}.gif"


# What never_cache sends (tests/test_public_handler.py holds it to Django's), with a
# fixed Expires where never_cache stamps the current time: both lie in the past.
NO_CACHE_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}
# A click redirect must never be served from a cache, nor followed by a search engine.
CLICK_REDIRECT_HEADERS = {**NO_CACHE_HEADERS, "X-Robots-Tag": "noindex, nofollow"}
# The click 404 page: a page, so it may be shown, but not indexed.
CLICK_NOT_FOUND_HEADERS = {"Cache-Control": NO_CACHE_HEADERS["Cache-Control"], "X-Robots-Tag": "noindex"}


def security_headers(request) -> list[tuple[str, str]]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware add to a response, from settings.

    For the plain WSGI application, which answers without them (tests/test_endpoints.py
    holds its answers to Django's).
    """
    headers = []
    if settings.SECURE_HSTS_SECONDS and request.is_secure():
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        parts = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(part.strip() for part in parts)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers
