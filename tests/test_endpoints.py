"""tracking/endpoints.py answers clicks, postbacks and pixels exactly as Django's views and middleware would.

Each case sends the same request through both: Django's handler with the public
middleware (PublicEndpointHandler, which reaches the views in tracking/public_views.py) and the
plain WSGI application (application.endpoints). State-changing requests go to two
equal worlds, so both see the same starting point.
"""

import base64
import re

import pytest
from django.contrib.auth.hashers import make_password
from django.test import RequestFactory

from config.handlers import PublicEndpointHandler
from config.wsgi import application
from tests.tracking.postback_world import make_world
from tracking.endpoints import route
from tracking.models import Click, Conversion, PostbackLog

pytestmark = pytest.mark.django_db(transaction=True)

# Differ by design: never_cache stamps the current time, the plain app the epoch (both expired).
IGNORED = {"Expires"}


def run(app, method, path, **kw):
    kw.setdefault("HTTP_HOST", "testserver")
    environ = getattr(RequestFactory(), method)(path, **kw).environ
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = b"".join(app(environ, start_response))
    headers = {name: value for name, value in captured["headers"] if name not in IGNORED}
    return captured["status"], headers, body


def django_app():
    # Built per test: the security middleware reads its settings when it is created.
    return PublicEndpointHandler()


def both(method, path_for, **kw):
    """(django, plain) results for the same request against world one and world two."""
    django = run(django_app(), method, path_for(0), **kw)
    plain = run(application.endpoints, method, path_for(1), **kw)
    return django, plain


@pytest.fixture
def worlds(workspace, other_workspace):
    return [make_world(workspace), make_world(other_workspace)]


def postback(worlds, query_for):
    def path_for(i):
        world = worlds[i]
        return f"/postback/impact/{world['connection'].postback_secret}?{query_for(world)}"

    return path_for


def test_a_new_conversion_then_its_duplicate(worlds):
    def query(world):
        return f"subid1={world['click'].transaction_id}&action_id=77.1&amount=12.50&status=PENDING"

    django, plain = both("get", postback(worlds, query))
    assert django == plain
    assert django[0] == "200 OK" and django[2] == b"accepted"
    assert Conversion.objects.count() == 2
    django, plain = both("get", postback(worlds, query))
    assert django == plain and django[2] == b"duplicate"


def test_a_post_body_and_a_bad_amount(worlds):
    def path_for(i):
        return f"/postback/impact/{worlds[i]['connection'].postback_secret}"

    body = "action_id=88.1&amount=NaN"
    django = run(application.public, "post", path_for(0), data=body, content_type="application/x-www-form-urlencoded")
    plain = run(application.endpoints, "post", path_for(1), data=body, content_type="application/x-www-form-urlencoded")
    assert django == plain
    assert django[0] == "400 Bad Request" and django[2].startswith(b"amount ")
    assert PostbackLog.objects.filter(outcome="rejected").count() == 2


def test_unknown_secret_and_network_mix_up(worlds):
    django, plain = both("get", lambda i: "/postback/impact/no-such-secret?action_id=1")
    assert django == plain and django[0] == "404 Not Found" and django[2] == b"not found"
    django, plain = both("get", lambda i: f"/postback/awin/{worlds[i]['connection'].postback_secret}?order_id=1")
    assert django == plain and django[2] == b"not found"


def test_basic_auth_challenge(worlds):
    for world in worlds:
        connection = world["connection"]
        connection.basic_auth_username = "impact"
        connection.basic_auth_password_hash = make_password("s3cret-pass")
        connection.save()
    django, plain = both("get", postback(worlds, lambda w: "action_id=5"))
    assert django == plain
    assert django[0] == "401 Unauthorized" and django[1]["WWW-Authenticate"].startswith("Basic")
    good = "Basic " + base64.b64encode(b"impact:s3cret-pass").decode()
    django, plain = both("get", postback(worlds, lambda w: "action_id=5"), HTTP_AUTHORIZATION=good)
    assert django == plain and django[2] == b"unattributed"


def test_pixel(worlds):
    django, plain = both("get", lambda i: f"/pixel/{worlds[i]['connection'].postback_secret}.gif?oid=9&amount=3")
    assert django == plain and django[1]["Content-Type"] == "image/gif"
    assert PostbackLog.objects.filter(is_pixel=True).count() == 2


def test_https_gets_hsts_like_django(worlds, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    django, plain = both("get", postback(worlds, lambda w: "action_id=6"), secure=True)
    assert django == plain
    assert django[1]["Strict-Transport-Security"] == "max-age=3600; includeSubDomains; preload"


def test_host_and_user_agent_checks(worlds, settings):
    django, plain = both("get", postback(worlds, lambda w: "action_id=7"), HTTP_HOST="evil.example")
    assert django[0] == plain[0] == "400 Bad Request"
    settings.DISALLOWED_USER_AGENTS = [re.compile("BadBot")]
    django, plain = both("get", postback(worlds, lambda w: "action_id=8"), HTTP_USER_AGENT="BadBot/1.0")
    assert django[0] == plain[0] == "403 Forbidden"
    assert not PostbackLog.objects.exists()


def test_what_the_plain_application_leaves_to_django(settings):
    def environ(method, path):
        return getattr(RequestFactory(), method)(path).environ

    assert route(environ("get", "/postback/impact/abc")) is not None
    assert route(environ("post", "/postback/impact/abc")) is not None
    assert route(environ("get", "/pixel/abc.gif")) is not None
    assert route(environ("get", "/c/Ab3dE9xY")) is not None
    assert route(environ("get", "/c/spring-tents")) is not None
    assert route(environ("head", "/c/Ab3dE9xY")) is None  # require_safe's HEAD: the view
    assert route(environ("post", "/c/Ab3dE9xY")) is None  # 405 from the view
    assert route(environ("get", "/c/Ab3dE9xY/more")) is None  # the 404 page that costs no query
    assert route(environ("post", "/pixel/abc.gif")) is None  # 405 from the view
    assert route(environ("head", "/postback/impact/abc")) is None
    assert route(environ("get", "/postback/impact/abc/")) is None
    assert route(environ("get", "/postback/impact/a%20b")) is None
    with pytest.raises(LookupError):  # the dispatcher never sends these; called directly, it refuses
        application.endpoints(environ("head", "/postback/impact/abc"), lambda status, headers: None)
    settings.SECURE_SSL_REDIRECT = True
    assert route(environ("get", "/postback/impact/abc")) is not None  # exempt in settings
    settings.SECURE_REDIRECT_EXEMPT = []
    assert route(environ("get", "/postback/impact/abc")) is None  # Django redirects to HTTPS


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def test_a_click_redirects_with_djangos_headers(worlds, settings):
    settings.CLICK_BUFFER = "direct"
    django, plain = both("get", lambda i: f"/c/{worlds[i]['link'].code}?sub1=a", HTTP_USER_AGENT=BROWSER_UA)
    assert django[0] == plain[0] == "302 Found"
    # Each redirect carries its own click id; every other header is the same.
    django_location, plain_location = django[1].pop("Location"), plain[1].pop("Location")
    assert django == plain
    assert django[1]["X-Robots-Tag"] == "noindex, nofollow" and "no-store" in django[1]["Cache-Control"]
    assert django_location.split("?")[0] == plain_location.split("?")[0]
    assert Click.objects.filter(sub1="a").count() == 2


def test_a_click_on_an_unknown_link_is_left_to_djangos_404_page(worlds):
    environ = RequestFactory().get("/c/Zz9Zz9Zz", HTTP_HOST="testserver").environ
    called = []
    assert application.endpoints.respond(environ, lambda *a: called.append(a), route(environ)) is None
    assert called == []
    status, headers, body = run(application, "get", "/c/Zz9Zz9Zz")
    assert status == "404 Not Found" and b"<html" in body.lower()


def test_a_click_host_check_like_django(worlds):
    django, plain = both("get", lambda i: f"/c/{worlds[i]['link'].code}", HTTP_HOST="evil.example")
    assert django[0] == plain[0] == "400 Bad Request"
    assert not Click.objects.exclude(pk__in=[w["click"].pk for w in worlds]).exists()
