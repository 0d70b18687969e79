"""The short handler for the public paths answers as Django's full handler would.

config/handlers.py serves /c/ with PUBLIC_MIDDLEWARE and its own load_middleware.
Both are written against what Django's handler and middleware do today; these tests
send the same requests through the short handler and through the full site handler
(every middleware in MIDDLEWARE) and compare status, headers and body, so that a Django
upgrade that changes what the full stack adds (a header, a host or user-agent check,
a redirect) fails here instead of drifting. tests/test_endpoints.py does the same for
the plain application that answers postbacks and pixels.
"""

import re
import time

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls.converters import SlugConverter
from django.utils.cache import add_never_cache_headers
from django.utils.http import parse_http_date

from config.handlers import PublicEndpointHandler
from tests.clients import transaction_kept_across_requests
from tests.tracking.test_redirect import BROWSER_UA, make_link
from workspaces.public_paths import NO_CACHE_HEADERS, SLUG_REGEX, click_path

# What only the full stack adds, by design: the pages' Content-Security-Policy (the
# click's 404 page, the one page of the public paths, adds it itself); Vary: Cookie when
# a middleware looked at the session, and the CSRF cookie for the token every page
# carries (the short path has neither session nor CSRF middleware).
FULL_STACK_ONLY = {"Content-Security-Policy": ".*", "Vary": "Cookie", "Set-Cookie": r"\s*csrftoken=.*"}
TRANSACTION_ID = re.compile(r"\b[0-9a-f]{32}\b")
CSRF_TOKEN = re.compile(rb'"X-CSRFToken": "[^"]+"')
CSRF_COOKIE = re.compile(r"csrftoken=[^;]+")


@pytest.fixture
def link(workspace):
    link = make_link(workspace)
    link.vanity = "spring-sale"
    link.save(update_fields=["vanity"])
    return link


def run(app, method, path, **kw):
    """(status, headers, body) of one request through the WSGI application ``app``."""
    kw.setdefault("HTTP_HOST", "testserver")
    kw.setdefault("HTTP_USER_AGENT", BROWSER_UA)
    environ = getattr(RequestFactory(), method)(path, **kw).environ
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    with transaction_kept_across_requests():
        response = app(environ, start_response)
        body = b"".join(response)
        response.close()
    headers = dict(captured["headers"])
    if "Location" in headers:  # every click has its own transaction id
        headers["Location"] = TRANSACTION_ID.sub("<transaction id>", headers["Location"])
    if "Expires" in headers and parse_http_date(headers["Expires"]) > 0:  # never_cache stamps the time
        headers["Expires"] = "<now>"
    if "Set-Cookie" in headers:  # Django's error pages hand out a fresh CSRF token
        headers["Set-Cookie"] = CSRF_COOKIE.sub("csrftoken=<token>", headers["Set-Cookie"])
    return captured["status"], headers, CSRF_TOKEN.sub(b'"X-CSRFToken": "<token>"', body)


def assert_same_answer(method, path, **kw):
    """Send the request through the full handler and the short one; returns the short one's answer."""
    # Built per request: middleware reads its settings when it is created.
    full = run(WSGIHandler(), method, path, **kw)
    short = run(PublicEndpointHandler(), method, path, **kw)
    assert short[0] == full[0]
    assert short[2] == full[2]
    only_full = {name: value for name, value in full[1].items() if name not in short[1]}
    for name, value in only_full.items():
        assert re.fullmatch(FULL_STACK_ONLY.get(name, ""), value), f"only the full stack sends {name}: {value}"
    assert short[1] == {name: value for name, value in full[1].items() if name not in only_full}
    return short


def test_the_short_handler_registers_its_middleware_as_django_would():
    def hooks(handler):
        return [
            [(type(method.__self__).__qualname__, method.__name__) for method in methods]
            for methods in (
                handler._view_middleware,
                handler._template_response_middleware,
                handler._exception_middleware,
            )
        ]

    short = PublicEndpointHandler()
    with override_settings(MIDDLEWARE=settings.PUBLIC_MIDDLEWARE):
        django = WSGIHandler()
    assert hooks(short) == hooks(django)
    assert short._middleware_chain is not None


def test_a_click_is_answered_the_same(link):
    status, headers, _ = assert_same_answer("get", click_path(link.code))
    assert status == "302 Found" and headers["Location"].startswith("https://shop.example/?tid=<transaction id>")
    assert "no-store" in headers["Cache-Control"] and headers["X-Frame-Options"] == "DENY"
    assert_same_answer("get", click_path(link.code) + "/", data={"sub1": "story"})
    assert_same_answer("get", click_path(link.vanity))
    assert_same_answer("head", click_path(link.code))


def test_links_that_do_not_exist_get_the_same_page(db):
    status, headers, body = assert_same_answer("get", click_path("Zz9Zz9Zz"))
    assert status == "404 Not Found" and b"This link does not exist" in body
    assert headers["X-Robots-Tag"] == "noindex" and "Content-Security-Policy" in headers
    status, _, _ = assert_same_answer("get", click_path("not-a-code!"))
    assert status == "404 Not Found"
    status, _, _ = assert_same_answer("get", click_path(""))
    assert status == "404 Not Found"


def test_hosts_and_user_agents_are_checked_the_same(link, settings):
    status, _, _ = assert_same_answer("get", click_path(link.code), HTTP_HOST="evil.example")
    assert status == "400 Bad Request"
    settings.DISALLOWED_USER_AGENTS = [re.compile("BadBot")]
    status, _, _ = assert_same_answer("get", click_path(link.code), HTTP_USER_AGENT="BadBot/1.0")
    assert status == "403 Forbidden"


def test_https_and_its_redirects_are_the_same(link, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    _, headers, _ = assert_same_answer("get", click_path(link.code), secure=True)
    assert headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    settings.SECURE_SSL_REDIRECT = True
    status, _, _ = assert_same_answer("get", click_path(link.code))
    assert status == "302 Found"  # the public paths are exempt
    settings.SECURE_REDIRECT_EXEMPT = []
    status, headers, _ = assert_same_answer("get", click_path(link.code))
    assert status == "301 Moved Permanently" and headers["Location"].startswith("https://")
    settings.SECURE_SSL_REDIRECT = False
    settings.PREPEND_WWW = True
    status, headers, _ = assert_same_answer("get", click_path(link.code))
    assert status == "301 Moved Permanently" and headers["Location"].startswith("http://www.")


def test_the_no_cache_headers_are_what_never_cache_sends():
    response = HttpResponse()
    add_never_cache_headers(response)
    assert set(response["Cache-Control"].split(", ")) == set(NO_CACHE_HEADERS["Cache-Control"].split(", "))
    assert parse_http_date(NO_CACHE_HEADERS["Expires"]) <= parse_http_date(response["Expires"]) <= time.time()


def test_postback_and_pixel_paths_take_what_django_slugs_take():
    # The URLs networks were given were <slug:> patterns; they must go on matching the same.
    assert SlugConverter.regex == SLUG_REGEX
