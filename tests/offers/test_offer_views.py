import json
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from offers.models import Offer, PayoutOverride
from tests.conftest import set_role
from tests.offers.conftest import make_member, make_offer
from tracking.models import Click


def test_the_list_shows_status_badges_and_filters_by_state(alice_client, workspace):
    now = timezone.now()
    make_offer(workspace, name="Live")
    make_offer(workspace, name="Held", paused=True)
    make_offer(workspace, name="Soon", starts_at=now + timedelta(days=3))
    make_offer(workspace, name="Gone", ends_at=now - timedelta(days=1))
    make_offer(workspace, name="Old", archived_at=now)
    r = alice_client.get(reverse("offers:offer_list"))
    assert {o.name for o in r.context["offers"]} == {"Live", "Held", "Soon", "Gone"}
    for state in ("active", "paused", "scheduled", "expired"):
        assert f'class="badge {state}">{state}<'.encode() in r.content
    for state, name in [
        ("active", "Live"),
        ("paused", "Held"),
        ("scheduled", "Soon"),
        ("expired", "Gone"),
        ("archived", "Old"),
    ]:
        r = alice_client.get(reverse("offers:offer_list"), {"state": state})
        assert [o.name for o in r.context["offers"]] == [name], state
    r = alice_client.get(reverse("offers:offer_list"), {"q": "sOo"})
    assert [o.name for o in r.context["offers"]] == ["Soon"]


def test_the_state_filter_agrees_with_the_model(workspace):
    from offers.selectors import list_offers

    now = timezone.now()
    # Paused wins over expired; expired wins over scheduled, as in Offer.state_at.
    make_offer(workspace, name="a", paused=True, ends_at=now - timedelta(days=1))
    make_offer(workspace, name="b", starts_at=now + timedelta(days=1), ends_at=now - timedelta(days=1))
    for offer in Offer.objects.all():
        assert [o.pk for o in list_offers(workspace=workspace, state=offer.state)] == [offer.pk]


def test_the_list_has_an_empty_state(alice_client):
    r = alice_client.get(reverse("offers:offer_list"))
    assert b"No offers yet" in r.content
    assert reverse("offers:new_offer").encode() in r.content


def test_the_detail_page_shows_status_links_chart_and_postback_panel(alice_client, workspace, offer, link, member):
    now = timezone.now()
    for i in range(3):
        Click.objects.create(
            workspace=workspace,
            transaction_id=f"t{i}",
            link=link,
            offer=offer,
            member=member,
            is_unique=i == 0,
            created_at=now - timedelta(days=i),
        )
    r = alice_client.get(reverse("tracking:offer_detail", args=[offer.code]))
    assert r.status_code == 200
    assert b'class="badge active">active<' in r.content
    assert link.url.encode() in r.content
    assert b'id="postback-panel"' in r.content
    series = r.context["series"]
    assert len(series["labels"]) == 30 and series["labels"][-1] == timezone.localdate().isoformat()
    assert series["total"] == 3 and series["clicks"][-1] == 1
    chart = json.loads(r.context["chart"])
    assert chart["type"] == "bar" and chart["data"]["datasets"][0]["data"] == series["clicks"]
    assert b"<canvas data-chart=" in r.content


def test_the_detail_page_without_links_or_clicks_has_empty_states(alice_client, offer):
    r = alice_client.get(reverse("tracking:offer_detail", args=[offer.code]))
    assert b"No clicks in the last 30 days" in r.content
    assert b"No links yet" in r.content


def test_it_pauses_resumes_archives_and_restores(alice_client, offer):
    alice_client.post(reverse("offers:pause_offer", args=[offer.code]))
    offer.refresh_from_db()
    assert offer.state == "paused"
    alice_client.post(reverse("offers:resume_offer", args=[offer.code]))
    offer.refresh_from_db()
    assert offer.state == "active"
    alice_client.post(reverse("offers:archive_offer", args=[offer.code]))
    offer.refresh_from_db()
    assert offer.archived_at is not None and offer.paused  # archived links send visitors to the fallback
    r = alice_client.post(reverse("offers:resume_offer", args=[offer.code]), follow=True)
    assert b"archived; restore it" in r.content
    alice_client.post(reverse("offers:restore_offer", args=[offer.code]))
    offer.refresh_from_db()
    assert offer.archived_at is None and offer.paused


def test_it_sets_and_removes_per_member_payouts(alice_client, workspace, offer, member):
    url = reverse("offers:add_override", args=[offer.code])
    r = alice_client.post(url, {"member": str(member.code), "payout_type": "flat", "payout_flat": "4.00"})
    assert r.status_code == 302
    override = PayoutOverride.objects.get(offer=offer, member=member)
    assert override.payout_type == "flat" and override.payout_flat == Decimal("4.00")
    assert override.workspace == workspace
    alice_client.post(url, {"member": str(member.code), "payout_type": "percent", "payout_percent": "15"})
    assert PayoutOverride.objects.get().payout_percent == Decimal("15")  # replaced, not duplicated
    r = alice_client.get(reverse("tracking:offer_detail", args=[offer.code]))
    assert b"15% of sale" in r.content
    alice_client.post(reverse("offers:remove_override", args=[offer.code, member.code]))
    assert not PayoutOverride.objects.exists()


def test_it_rejects_bad_overrides(alice_client, offer, member, other_workspace):
    url = reverse("offers:add_override", args=[offer.code])
    r = alice_client.post(
        url, {"member": str(member.code), "payout_type": "percent", "payout_percent": "150"}, follow=True
    )
    assert b"between 0 and 100" in r.content
    theirs = make_member(other_workspace, "Theirs")
    alice_client.post(url, {"member": str(theirs.code), "payout_type": "flat", "payout_flat": "1"})
    assert not PayoutOverride.objects.exists()


def test_it_requires_write_access(bob_client, bob, workspace, offer, member):
    set_role(bob, workspace, "viewer")
    assert bob_client.get(reverse("tracking:offer_detail", args=[offer.code])).status_code == 200
    for name in ("pause_offer", "archive_offer"):
        assert bob_client.post(reverse(f"offers:{name}", args=[offer.code])).status_code == 403
    r = bob_client.post(
        reverse("offers:add_override", args=[offer.code]),
        {"member": str(member.code), "payout_type": "flat", "payout_flat": "1"},
    )
    assert r.status_code == 403
    offer.refresh_from_db()
    assert offer.state == "active" and offer.archived_at is None
    assert not PayoutOverride.objects.exists()
    set_role(bob, workspace, "manager")
    assert bob_client.post(reverse("offers:pause_offer", args=[offer.code])).status_code == 302


def test_it_checks_ownership(charlie_client, offer):
    assert charlie_client.get(reverse("tracking:offer_detail", args=[offer.code])).status_code == 404
    assert charlie_client.post(reverse("offers:pause_offer", args=[offer.code])).status_code == 404
    offer.refresh_from_db()
    assert not offer.paused
    assert b"Spring Sale" not in charlie_client.get(reverse("offers:offer_list")).content
