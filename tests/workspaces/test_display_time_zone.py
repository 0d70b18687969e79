"""Every page says which zone its times are in; each user picks the zone they read them in."""

from datetime import UTC, datetime

from django.urls import reverse

from tests.tracking.postback_world import make_world
from tracking.models import Conversion


def test_pages_say_which_zone_their_times_are_in(alice_client, workspace, settings):
    settings.TIME_ZONE = "UTC"
    page = alice_client.get(reverse("offers:offer_list")).content.decode()
    assert "Times in UTC" in page


def test_a_user_reads_times_in_the_zone_they_choose(alice_client, workspace, settings):
    settings.TIME_ZONE = "UTC"
    world = make_world(workspace, kind="impact")
    Conversion.objects.create(
        workspace=workspace,
        connection=world["connection"],
        network="impact",
        dedupe_key="A-TZ",
        external_id="A-TZ",
        source="postback",
        currency="USD",
        event_at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC),
    )
    before = alice_client.get(reverse("tracking:conversion_list")).content.decode()
    assert "2026-07-01 22:30" in before
    response = alice_client.post(reverse("workspaces:account"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    after = alice_client.get(reverse("tracking:conversion_list")).content.decode()
    assert "2026-07-02 00:30" in after and "Times in Europe/Berlin" in after


def test_an_unknown_zone_is_refused_next_to_the_field(alice_client):
    response = alice_client.post(reverse("workspaces:account"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_account_page_offers_the_workspace_default(alice_client, settings):
    settings.TIME_ZONE = "America/New_York"
    page = alice_client.get(reverse("workspaces:account")).content.decode()
    assert "default (America/New_York)" in page
