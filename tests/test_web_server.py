"""The production web servers (`python -m config.serve`: granian by default, gunicorn as an option)
in front of the public paths: the same answers, headers and limits under either."""

import httpx
import pytest

from tests.conftest import running_server
from tests.tracking.postback_world import make_world
from tracking.models import Click, Conversion, PostbackLog
from workspaces.public_paths import click_path, pixel_path, postback_path

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"}


@pytest.fixture(params=["granian", "gunicorn"])
def server_url(request, transactional_db, settings):
    with running_server(request.param, CLICK_BUFFER="direct") as url:
        yield url


def test_a_postback_up_to_the_body_limit_in_its_query_string_is_accepted(server_url, workspace, settings):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    # A network's long template: the query string fills POSTBACK_BODY_LIMIT (8 KB by default).
    base = f"transaction_id={world['click'].transaction_id}&amount=20.00&note="
    query = base + "x" * (settings.POSTBACK_BODY_LIMIT - len(base))
    response = httpx.get(f"{server_url}{postback_path('generic', secret)}?{query}", timeout=10)
    assert response.status_code == 200, response.text
    assert Conversion.objects.count() == 1
    assert len(PostbackLog.objects.get().query) == settings.POSTBACK_BODY_LIMIT


def test_a_query_string_over_the_limit_gets_the_apps_413_not_the_servers_414(server_url, workspace, settings):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    query = f"transaction_id={world['click'].transaction_id}&note=" + "x" * settings.POSTBACK_BODY_LIMIT
    response = httpx.get(f"{server_url}{postback_path('generic', secret)}?{query}", timeout=10)
    assert response.status_code == 413
    assert PostbackLog.objects.count() == 1


def test_a_posted_postback_body_reaches_the_app(server_url, workspace):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    body = {"transaction_id": world["click"].transaction_id, "amount": "31.50", "order_id": "ORD-7"}
    response = httpx.post(f"{server_url}{postback_path('generic', secret)}", data=body, timeout=10)
    assert response.status_code == 200, response.text
    assert Conversion.objects.get().sale_amount == pytest.approx(31.5)


def test_a_click_redirects_with_the_public_headers_and_is_stored(server_url, workspace):
    world = make_world(workspace, kind="generic")
    response = httpx.get(server_url + click_path(world["link"].code), headers=BROWSER, timeout=10)
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://")
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert Click.objects.filter(link=world["link"]).count() == 2  # the world's own click and this one


def test_a_pixel_answers_the_gif_with_no_cache(server_url, workspace):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    response = httpx.get(
        f"{server_url}{pixel_path(secret)}?transaction_id={world['click'].transaction_id}&amount=5.00", timeout=10
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF")
    assert "no-store" in response.headers["cache-control"]
    assert Conversion.objects.count() == 1


def test_a_host_outside_allowed_hosts_is_refused_on_every_path(server_url, workspace):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    for path in (click_path(world["link"].code), postback_path("generic", secret) + "?transaction_id=x"):
        response = httpx.get(server_url + path, headers={"Host": "evil.example", **BROWSER}, timeout=10)
        assert response.status_code == 400, path
    assert Conversion.objects.count() == 0
    assert Click.objects.count() == 1
