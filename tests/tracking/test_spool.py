"""The public endpoints while the database or Redis is away: 503 or a redirect, never a 500, nothing lost.

The database is made unreachable for real: the test's connection is pointed at a port
where nothing listens, so every query meets a refused connection, as when PostgreSQL is
down. tests/faults/ does the same to running servers.
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection

from tests.conftest import free_port
from tests.tracking.postback_world import make_world
from tests.tracking.test_redirect import hit, make_link
from tracking import spool
from tracking.clicks import buffer
from tracking.clicks.payload import click_to_payload
from tracking.clicks.recording import clear_link_cache
from tracking.ingest import Hit
from tracking.models import Click, Conversion, ConversionEvent, PostbackLog
from tracking.services.spooled import replay_spool

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def database_away():
    """Every new connection of this thread is refused until the block ends."""
    saved = dict(connection.settings_dict)
    connection.close()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def postback(client, world, query):
    conn = world["connection"]
    return client.get(f"/postback/impact/{conn.postback_secret}?{query}")


def test_a_postback_while_the_database_is_away_is_spooled_answered_503_and_stored_once(client, world):
    tid = world["click"].transaction_id
    query = f"subid1={tid}&action_id=100.1&amount=20.00&payout=2.00&currency=USD&status=pending"
    with database_away():
        response = postback(client, world, query)
    assert (response.status_code, response.content) == (503, b"temporarily unavailable; please retry")
    assert response["Retry-After"] == "30"
    assert spool.counts()["ready"] == 1
    assert not PostbackLog.objects.exists()

    # The network retries before the spool is replayed: accepted once...
    assert postback(client, world, query).content == b"accepted"
    # ...and the replay is a duplicate of it, logged at the time the hit arrived.
    assert replay_spool().stored == 1
    conversion = Conversion.objects.get()
    assert (conversion.click_id, conversion.sale_amount) == (world["click"].pk, Decimal("20.00"))
    assert ConversionEvent.objects.filter(conversion=conversion).count() == 1
    assert sorted(PostbackLog.objects.values_list("outcome", flat=True)) == ["accepted", "duplicate"]
    assert spool.counts() == {"ready": 0, "claimed": 0, "failed": 0}


def test_a_spooled_postback_is_stored_by_the_replay_when_the_network_never_retries(client, world):
    query = f"subid1={world['click'].transaction_id}&action_id=100.2&amount=5.00&currency=USD"
    with database_away():
        postback(client, world, query)
        # Still away: the replay leaves the item where it is.
        assert replay_spool().left == 1
    assert spool.counts()["ready"] == 1
    assert replay_spool().stored == 1
    assert Conversion.objects.get().external_id == "100.2"
    assert PostbackLog.objects.get().outcome == "accepted"
    assert replay_spool().stored == 0


def test_a_pixel_while_the_database_is_away_still_answers_its_image_and_is_replayed(client, world):
    secret = world["connection"].postback_secret
    with database_away():
        response = client.get(f"/pixel/{secret}.gif?subid1={world['click'].transaction_id}&amount=9.00")
    assert (response.status_code, response["Content-Type"]) == (200, "image/gif")
    replay_spool()
    conversion = Conversion.objects.get()
    assert (conversion.source, conversion.sale_amount) == ("pixel", Decimal("9.00"))


def test_a_click_while_both_stores_are_away_redirects_and_is_spooled(client, workspace, settings):
    settings.CLICK_BUFFER = "direct"
    link = make_link(workspace)
    assert hit(client, link).status_code == 302  # the process now remembers the link
    with database_away():
        response = hit(client, link)
    assert response.status_code == 302
    tid = response["Location"].split("tid=")[1].split("&")[0]
    assert not Click.objects.filter(transaction_id=tid).exists()
    assert replay_spool().stored == 1
    click = Click.objects.get(transaction_id=tid)
    assert (click.link_id, click.destination) == (link.pk, response["Location"])
    # Replaying the same click again stores nothing more.
    spool.put({"kind": "click", "payload": click_to_payload(click)})
    assert replay_spool().stored == 1
    assert Click.objects.filter(transaction_id=tid).count() == 1


def test_a_click_on_a_link_unknown_to_the_process_while_the_database_is_away_answers_503(client, workspace):
    link = make_link(workspace)
    clear_link_cache()
    with database_away():
        response = hit(client, link)
    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.redis
def test_a_postback_for_a_click_only_redis_knows_answers_503_while_redis_is_away(client, world, settings, monkeypatch):
    settings.CLICK_BUFFER = "redis"
    monkeypatch.setattr(buffer, "_buffer_down_until", 0.0)
    response = hit(client, world["link"])
    tid = response["Location"].split("t=")[1].split("&")[0]
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    first = postback(client, world, f"subid1={tid}&action_id=7.1&amount=3.00")
    assert (first.status_code, first["Retry-After"]) == (503, "30")
    assert PostbackLog.objects.get().response_status == 503
    assert not Conversion.objects.exists()
    # Redis is back; the network's retry attributes the sale to the click.
    settings.REDIS_URL = redis_url
    assert postback(client, world, f"subid1={tid}&action_id=7.1&amount=3.00").content == b"accepted"
    assert Conversion.objects.get().click.transaction_id == tid


def test_an_item_the_pipeline_cannot_read_is_set_aside_with_its_reason():
    spool.put({"kind": "postback", "network": "impact", "secret": "x", "hit": {"method": "GET"}})
    result = replay_spool()
    assert (result.stored, result.failed) == (0, 1)
    assert spool.counts()["failed"] == 1
    reason = next((spool.spool_dir() / "failed").glob("*.reason")).read_text()
    assert reason.startswith("KeyError") or reason.startswith("TypeError")


def test_a_hit_survives_the_spool_round_trip():
    hit_ = Hit(method="POST", query="a=1", body=b"\x00\xffbody", content_type="text/plain", source_ip="192.0.2.1")
    assert Hit.from_json(hit_.to_json()).body == hit_.body
