"""The postback log pages: list with outcome/network filters, detail with raw parameters, replay."""

import pytest

from tests.conftest import set_role
from tests.tracking.postback_world import make_world
from tracking.models import Conversion, PostbackLog


@pytest.fixture
def world(workspace):
    return make_world(workspace)


def hit(client, world, query):
    return client.get(f"/postback/impact/{world['connection'].postback_secret}?{query}")


def test_the_log_shows_an_empty_state(alice_client):
    response = alice_client.get("/postbacks/")
    assert response.status_code == 200
    assert b"No postbacks received yet" in response.content


def test_the_log_lists_every_hit_with_outcome_and_reason(alice_client, client, world):
    hit(client, world, f"subid1={world['click'].transaction_id}&amount=5.00")
    hit(client, world, "subid1=t&amount=NaN")
    response = alice_client.get("/postbacks/")
    page = response.content.decode()
    assert "amount is not a plain decimal amount" in page
    assert {p.outcome for p in response.context["page"].object_list} == {"accepted", "rejected"}
    stats = {value: n for value, _label, n in response.context["outcome_stats"]}
    assert (stats["accepted"], stats["rejected"], stats["duplicate"]) == (1, 1, 0)
    only = alice_client.get("/postbacks/?outcome=rejected").context["page"].object_list
    assert [p.outcome for p in only] == ["rejected"]
    assert not alice_client.get("/postbacks/?network=shareasale").context["page"].object_list
    assert len(alice_client.get("/postbacks/?kind=postback").context["page"].object_list) == 2


def test_unknown_secret_hits_belong_to_no_workspace(alice_client, client, world):
    client.get("/postback/impact/unknown-secret-value?subid1=x")
    assert not alice_client.get("/postbacks/").context["page"].object_list


def test_the_detail_shows_raw_and_parsed_parameters(alice_client, client, world):
    hit(client, world, "subid1=nobody&amount=5.00")
    log = PostbackLog.objects.get()
    page = alice_client.get(f"/postbacks/{log.code}/").content.decode()
    assert "subid1=nobody&amp;amount=5.00" in page
    assert "&quot;subid1&quot;: &quot;nobody&quot;" in page


def test_replay_creates_a_linked_row_and_obeys_the_rules(alice_client, client, world):
    tid = world["click"].transaction_id
    hit(client, world, f"subid1={tid}&amount=5.00")
    original = PostbackLog.objects.get()
    response = alice_client.post(f"/postbacks/{original.code}/replay/")
    replay = PostbackLog.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/postbacks/{replay.code}/"
    assert (replay.replay_of, replay.outcome) == (original, "duplicate")
    assert Conversion.objects.count() == 1


def test_replaying_a_hit_that_failed_records_it_now(alice_client, client, world):
    # A hit refused by the allowlist (say, before the network's new IP range was added) can be replayed.
    conn = world["connection"]
    conn.ip_allowlist = "198.51.100.0/24"
    conn.save()
    hit(client, world, f"subid1={world['click'].transaction_id}&amount=5.00")
    original = PostbackLog.objects.get()
    assert original.outcome == "rejected"
    alice_client.post(f"/postbacks/{original.code}/replay/")
    replay = PostbackLog.objects.exclude(pk=original.pk).get()
    assert replay.outcome == "accepted"
    assert Conversion.objects.get().member == world["member"]


def test_it_requires_write_access_to_replay(bob_client, bob, workspace, client, world):
    hit(client, world, "subid1=x")
    log = PostbackLog.objects.get()
    set_role(bob, workspace, "viewer")
    assert bob_client.get(f"/postbacks/{log.code}/").status_code == 200
    assert bob_client.post(f"/postbacks/{log.code}/replay/").status_code == 403
    assert PostbackLog.objects.count() == 1


def test_it_checks_ownership(charlie_client, client, world):
    hit(client, world, "subid1=x")
    log = PostbackLog.objects.get()
    assert charlie_client.get(f"/postbacks/{log.code}/").status_code == 404
    assert charlie_client.post(f"/postbacks/{log.code}/replay/").status_code == 404
    assert not charlie_client.get("/postbacks/").context["page"].object_list


def test_a_truncated_hit_cannot_be_replayed(alice_client, client, world, settings):
    settings.POSTBACK_BODY_LIMIT = 100
    url = f"/postback/impact/{world['connection'].postback_secret}"
    client.post(url, data="subid1=t&pad=" + "x" * 200, content_type="application/x-www-form-urlencoded")
    log = PostbackLog.objects.get()
    page = alice_client.post(f"/postbacks/{log.code}/replay/", follow=True).content.decode()
    assert "cannot be replayed" in page
    assert PostbackLog.objects.count() == 1


def test_a_hit_with_an_unknown_secret_cannot_be_replayed(alice_client, client, world):
    from tracking.services.replays import replay_postback
    from workspaces.errors import DomainError

    client.get("/postback/impact/unknown-secret-value?subid1=x")
    with pytest.raises(DomainError):
        replay_postback(log=PostbackLog.objects.get())
