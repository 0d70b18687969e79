"""GET /pixel/<secret>.gif: same parameters and effects as a postback, always a 1x1 GIF."""

from decimal import Decimal

import pytest
from django.db import connection

from offers.models import NetworkConnection
from tests.tracking.postback_world import make_click, make_world
from tracking.ingest import PIXEL_GIF
from tracking.models import Conversion, PostbackLog


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def pixel_url(world):
    return f"/pixel/{world['connection'].postback_secret}.gif"


def assert_gif(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content == PIXEL_GIF
    assert response.content.startswith(b"GIF89a")
    assert "no-cache" in response["Cache-Control"]


def test_it_records_a_conversion_and_answers_a_gif(client, world):
    tid = world["click"].transaction_id
    response = client.get(pixel_url(world) + f"?transaction_id={tid}&amount=84.50&adv_sub=ORDER-1")
    assert_gif(response)
    conv = Conversion.objects.get()
    assert (conv.source, conv.member, conv.sale_amount) == ("pixel", world["member"], Decimal("84.50"))
    log = PostbackLog.objects.get()
    assert (log.is_pixel, log.outcome, log.conversion) == (True, "accepted", conv)


def test_a_reloaded_thank_you_page_is_a_duplicate(client, world):
    query = f"?transaction_id={world['click'].transaction_id}&adv_sub=ORDER-1"
    assert_gif(client.get(pixel_url(world) + query))
    assert_gif(client.get(pixel_url(world) + query))
    assert Conversion.objects.count() == 1
    assert list(PostbackLog.objects.order_by("id").values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_bad_input_still_gets_the_gif_and_the_reason_is_logged(client, world):
    assert_gif(client.get(pixel_url(world) + "?transaction_id=t&amount=NaN"))
    assert_gif(client.get(pixel_url(world) + "?amount=1.00"))
    reasons = list(PostbackLog.objects.order_by("id").values_list("outcome", "reason"))
    assert reasons == [
        ("rejected", "amount is not a plain decimal amount"),
        ("rejected", "missing transaction_id (or the network's conversion id)"),
    ]
    assert not Conversion.objects.exists()


def test_an_unknown_secret_gets_the_gif_and_is_logged_without_workspace(client, world):
    assert_gif(client.get("/pixel/no-such-secret-here.gif?transaction_id=x"))
    log = PostbackLog.objects.get()
    assert (log.workspace, log.is_pixel, log.reason) == (None, True, "unknown secret")


def test_an_unknown_transaction_is_unattributed(client, world):
    assert_gif(client.get(pixel_url(world) + "?transaction_id=stranger"))
    assert PostbackLog.objects.get().outcome == "unattributed"


def test_post_is_not_a_pixel(client, world):
    assert client.post(pixel_url(world)).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_known_pixel_runs_the_queries_of_a_postback(client, world, django_assert_num_queries):
    # The first pixel of a secret learns its network; later ones find the connection, the click
    # and a stored conversion in one query, as a postback does.
    click = world["click"]
    assert_gif(client.get(pixel_url(world) + f"?transaction_id={click.transaction_id}&adv_sub=ORDER-1"))
    other = make_click(world["link"])
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 8):
        assert_gif(client.get(pixel_url(world) + f"?transaction_id={other.transaction_id}&adv_sub=ORDER-2"))
    with django_assert_num_queries(2):
        assert_gif(client.get(pixel_url(world) + f"?transaction_id={other.transaction_id}&adv_sub=ORDER-2"))
    outcomes = list(PostbackLog.objects.order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["accepted", "accepted", "duplicate"]
    assert Conversion.objects.get(external_id="ORDER-2").click == other


def test_a_pixel_is_read_with_its_connections_network_when_that_changed(client, world):
    url = pixel_url(world) + f"?transaction_id={world['click'].transaction_id}&adv_sub=ORDER-1"
    assert_gif(client.get(url))
    NetworkConnection.objects.filter(pk=world["connection"].pk).update(kind="shareasale")
    assert_gif(client.get(pixel_url(world) + "?transaction_id=stranger&adv_sub=ORDER-2"))
    log = PostbackLog.objects.order_by("id").last()
    assert (log.network, log.outcome) == ("shareasale", "unattributed")
    assert Conversion.objects.get(transaction_id="stranger").network == "shareasale"
