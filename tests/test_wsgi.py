"""config/wsgi.py: postbacks and pixels go to the plain WSGI application, clicks to Django with the short
middleware list, everything else to the full stack."""

import pytest
from django.conf import settings
from django.core.signals import got_request_exception
from django.test import RequestFactory

from config.handlers import PublicEndpointHandler, SplitApplication
from config.wsgi import application
from tests.tracking.postback_world import make_world
from tracking.endpoints import PublicEndpoints
from tracking.models import Conversion, PostbackLog

pytestmark = pytest.mark.django_db(transaction=True)


def call(method, path, *, host="testserver", **kw):
    """Run one request through the production WSGI application: (status line, headers, body)."""
    request = getattr(RequestFactory(), method)(path, HTTP_HOST=host, **kw)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = application(request.environ, start_response)
    try:
        content = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return captured["status"], dict(captured["headers"]), content


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def postback_path(world):
    return f"/postback/impact/{world['connection'].postback_secret}"


def test_the_entry_point_splits_public_paths_from_the_site():
    assert isinstance(application, SplitApplication)
    assert isinstance(application.public, PublicEndpointHandler)
    assert isinstance(application.endpoints, PublicEndpoints)
    assert not isinstance(application.site, PublicEndpointHandler)


def test_a_postback_through_the_production_entry_point_is_stored(world):
    query = {"subid1": world["click"].transaction_id, "action_id": "9001.1", "amount": "50.00", "status": "PENDING"}
    status, headers, body = call("get", postback_path(world), data=query)
    assert (status, body) == ("200 OK", b"accepted")
    conversion = Conversion.objects.get()
    assert conversion.click_id == world["click"].pk
    assert PostbackLog.objects.get().conversion_id == conversion.pk
    # What never_cache and the security middleware add is still there.
    assert "no-store" in headers["Cache-Control"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    # No session was looked at or started.
    assert "Set-Cookie" not in headers
    assert "Cookie" not in headers.get("Vary", "")


def test_a_pixel_and_a_click_through_the_production_entry_point(world):
    status, headers, body = call("get", f"/pixel/{world['connection'].postback_secret}.gif", data={"oid": "A-1"})
    assert status == "200 OK" and headers["Content-Type"] == "image/gif" and body.startswith(b"GIF89a")
    assert PostbackLog.objects.filter(is_pixel=True).count() == 1

    status, headers, _ = call("get", f"/c/{world['link'].code}")
    assert status == "302 Found"
    assert headers["Location"].startswith("https://shop.test/")
    assert "Set-Cookie" not in headers


def test_public_paths_still_check_the_host_header(world):
    status, _, _ = call("get", postback_path(world), host="evil.example", data={"action_id": "1"})
    assert status.startswith("400")
    assert not PostbackLog.objects.exists()
    # The click redirect (Django with PUBLIC_MIDDLEWARE) checks it too.
    status, _, _ = call("get", f"/c/{world['link'].code}", host="evil.example")
    assert status.startswith("400")


def test_public_paths_answer_wrong_methods_and_unknown_shapes_without_a_500(world):
    status, headers, _ = call("put", postback_path(world))
    assert status.startswith("405") and headers["Allow"] == "GET, POST"
    status, _, _ = call("get", "/postback/impact/")
    assert status.startswith("404")
    status, _, _ = call("get", "/pixel/not a secret.gif")
    assert status.startswith("404")


def test_a_failure_inside_a_public_view_is_a_logged_500_like_anywhere_else(world, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("tracking.ingest.find_connection", broken)
    seen = []

    def record(sender, request=None, **kwargs):
        seen.append(request.path)

    got_request_exception.connect(record)
    try:
        status, _, _ = call("get", postback_path(world), data={"action_id": "1"})
    finally:
        got_request_exception.disconnect(record)
    assert status.startswith("500")
    assert seen == [postback_path(world)]


def test_site_paths_keep_the_full_stack(alice, workspace):
    # /postbacks/ (the log page) shares a prefix with /postback/ but is a signed-in page.
    status, headers, _ = call("get", "/postbacks/")
    assert status == "302 Found"
    assert "/login" in headers["Location"] or "/accounts/" in headers["Location"]


def test_the_public_middleware_is_the_full_list_minus_what_needs_a_user():
    assert settings.PUBLIC_MIDDLEWARE == [m for m in settings.MIDDLEWARE if m in settings.PUBLIC_MIDDLEWARE]
    left_out = set(settings.MIDDLEWARE) - set(settings.PUBLIC_MIDDLEWARE)
    assert left_out == {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "workspaces.middleware.WorkspaceMiddleware",
        "workspaces.timezones.TimezoneMiddleware",  # a signed-in person's zone: pages only
        "workspaces.error_pages.NotFoundPageMiddleware",  # the public paths answer their own 404s
        # Pages only; the click 404 page, the one page of the public paths, adds the policy itself.
        "config.csp.ContentSecurityPolicyMiddleware",
    }
