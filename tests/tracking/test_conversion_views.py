"""Conversions pages: list with filters, totals and CSV; detail; approve/reject; recompute; re-attribute."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.conftest import free_port, set_role
from tests.tracking.postback_world import make_click, make_world
from tracking.models import Conversion, ConversionEvent
from tracking.reported import ConversionData
from tracking.services import record_conversion

D = Decimal


@pytest.fixture
def world(workspace):
    return make_world(workspace)


def record(world, **kw):
    return record_conversion(connection=world["connection"], data=ConversionData(**kw), source="postback").conversion


def csv_rows(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_the_list_shows_an_empty_state(alice_client):
    response = alice_client.get("/conversions/")
    assert response.status_code == 200
    assert b"No conversions yet" in response.content


def test_the_list_shows_conversions_and_totals_per_currency(alice_client, world):
    record(world, transaction_id=world["click"].transaction_id, sale_amount=D("120.00"), network_payout=D("9.00"))
    record(world, transaction_id="stranger", sale_amount=D("5.00"), currency="EUR")
    response = alice_client.get("/conversions/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ava" in page and "unattributed" in page
    totals = {t["currency"]: t for t in response.context["totals"]}
    assert totals["USD"]["sales"] == D("120.00")
    assert totals["USD"]["member_payout"] == D("12.00")
    assert totals["EUR"]["n"] == 1
    assert response.context["chart"]


def test_the_list_filters(alice_client, world, workspace):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, external_id="A1", status="approved")
    record(world, transaction_id="stranger", external_id="A2")
    old = record(world, transaction_id="old-one", external_id="A3")
    Conversion.objects.filter(pk=old.pk).update(event_at=datetime(2024, 1, 5, tzinfo=UTC))

    def codes(query):
        response = alice_client.get("/conversions/?" + query)
        assert response.status_code == 200
        return {c.external_id for c in response.context["page"].object_list}

    assert codes("status=approved") == {"A1"}
    assert codes(f"member={world['member'].code}") == {"A1"}
    assert codes(f"offer={world['offer'].code}") == {"A1"}
    assert codes("attribution=unattributed") == {"A2", "A3"}
    assert codes("date_from=2024-01-01&date_to=2024-01-31") == {"A3"}
    assert codes("network=impact&source=postback") == {"A1", "A2", "A3"}
    assert codes("network=shareasale") == set()
    assert codes(f"q={tid}") == {"A1"}
    # A bad filter is ignored with a message, never a 500.
    response = alice_client.get("/conversions/?date_from=2024-02-01&date_to=2024-01-01")
    assert response.status_code == 200
    assert b"The end date is before the start date." in response.content


def test_another_workspaces_member_is_not_a_valid_filter(alice_client, world, other_workspace):
    other = make_world(other_workspace)
    response = alice_client.get(f"/conversions/?member={other['member'].code}")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_the_csv_export_streams_filtered_rows(alice_client, world):
    record(world, transaction_id=world["click"].transaction_id, external_id="=HYPERLINK(1)", sale_amount=D("10.00"))
    record(world, transaction_id="stranger", external_id="B2", status="approved")
    response = alice_client.get("/conversions/export.csv?status=pending")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 1
    row = rows[0]
    assert row["external_id"] == "'=HYPERLINK(1)"  # formula injection defused
    assert (row["member"], row["sale_amount"], row["member_payout"], row["currency"]) == ("Ava", "10.00", "1.00", "USD")


def test_the_csv_export_has_a_header_when_empty(alice_client):
    rows = alice_client.get("/conversions/export.csv")
    body = b"".join(rows.streaming_content).decode("utf-8-sig")
    assert body.startswith("event_at,conversion,status")


def test_the_detail_page_shows_click_history_and_maths(alice_client, world):
    tid = world["click"].transaction_id
    conv = record(world, transaction_id=tid, external_id="A1", sale_amount=D("100.00"))
    record(world, transaction_id=tid, external_id="A1", status="approved")
    response = alice_client.get(f"/conversions/{conv.code}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert tid in page
    assert "10% of sale 100.00 = 10.00" in page
    assert "pending → approved" in page


def test_approve_and_reject_with_a_reason(alice_client, world):
    conv = record(world, transaction_id=world["click"].transaction_id)
    response = alice_client.post(f"/conversions/{conv.code}/approve/", {"reason": "order shipped"})
    assert response.status_code == 302
    conv.refresh_from_db()
    assert (conv.status, conv.status_reason) == ("approved", "order shipped")
    alice_client.post(f"/conversions/{conv.code}/reject/", {"reason": "fraud"})
    conv.refresh_from_db()
    assert conv.status == "rejected"
    # Backwards is refused with a message.
    response = alice_client.post(f"/conversions/{conv.code}/approve/", {"reason": ""}, follow=True)
    assert "cannot become approved" in response.content.decode()
    conv.refresh_from_db()
    assert conv.status == "rejected"
    assert ConversionEvent.objects.filter(conversion=conv).count() == 3


def test_it_requires_write_access(bob_client, bob, workspace, world):
    conv = record(world, transaction_id=world["click"].transaction_id)
    set_role(bob, workspace, "viewer")
    assert bob_client.get(f"/conversions/{conv.code}/").status_code == 200
    for action in ("approve", "reject", "recompute", "reattribute"):
        assert bob_client.post(f"/conversions/{conv.code}/{action}/").status_code == 403, action
    conv.refresh_from_db()
    assert conv.status == "pending"


def test_get_on_actions_is_refused(alice_client, world):
    conv = record(world, transaction_id=world["click"].transaction_id)
    assert alice_client.get(f"/conversions/{conv.code}/approve/").status_code == 405


def test_it_checks_ownership(charlie_client, world):
    conv = record(world, transaction_id=world["click"].transaction_id)
    assert charlie_client.get(f"/conversions/{conv.code}/").status_code == 404
    assert charlie_client.post(f"/conversions/{conv.code}/approve/").status_code == 404
    # The conversion's code and its member's affiliate id, not the name "Ava": a random
    # token on the page (CSRF) may contain those three letters.
    page = charlie_client.get("/conversions/").content.decode()
    assert str(conv.code) not in page and world["member"].affiliate_id not in page
    assert not csv_rows(charlie_client.get("/conversions/export.csv"))


def test_recompute_uses_current_terms(alice_client, world):
    conv = record(world, transaction_id=world["click"].transaction_id, sale_amount=D("100.00"))
    world["offer"].payout_percent = D("20")
    world["offer"].save()
    alice_client.post(f"/conversions/{conv.code}/recompute/")
    conv.refresh_from_db()
    assert conv.member_payout == D("20.00")


def test_reattribute_to_a_click_or_a_member(alice_client, world):
    conv = record(world, transaction_id="lost", sale_amount=D("50.00"))
    other_click = make_click(world["link"])
    response = alice_client.post(
        f"/conversions/{conv.code}/reattribute/", {"transaction_id": other_click.transaction_id}
    )
    assert response.status_code == 302
    conv.refresh_from_db()
    assert (conv.click, conv.member, conv.member_payout) == (other_click, world["member"], D("5.00"))

    conv2 = record(world, transaction_id="lost-2")
    alice_client.post(f"/conversions/{conv2.code}/reattribute/", {"member": world["member"].code})
    conv2.refresh_from_db()
    assert conv2.member == world["member"]


@pytest.mark.redis
def test_reattribute_to_a_click_id_says_so_when_the_click_buffer_cannot_be_read(alice_client, world, settings):
    conv = record(world, transaction_id="lost")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    url = f"/conversions/{conv.code}/reattribute/"
    page = alice_client.post(url, {"transaction_id": "a" * 32}, follow=True).content.decode()
    assert "cannot be read right now" in page
    conv.refresh_from_db()
    assert conv.click is None


def test_reattribute_refuses_unknown_or_foreign_targets(alice_client, world, other_workspace):
    other = make_world(other_workspace)
    conv = record(world, transaction_id="lost")
    url = f"/conversions/{conv.code}/reattribute/"
    page = alice_client.post(url, {"transaction_id": other["click"].transaction_id}, follow=True).content.decode()
    assert "No click with that transaction id" in page
    page = alice_client.post(url, {"member": other["member"].code}, follow=True).content.decode()
    assert "Select a valid choice" in page
    page = alice_client.post(url, {}, follow=True).content.decode()
    assert "either a click" in page
    conv.refresh_from_db()
    assert conv.member is None


def test_rejecting_by_hand_needs_a_reason(alice_client, workspace):
    from tests.tracking.postback_world import make_world
    from tracking.services import record_conversion

    world = make_world(workspace)
    conversion = record_conversion(
        connection=world["connection"], data=ConversionData(external_id="R-1"), source="postback"
    ).conversion
    url = reverse("tracking:reject_conversion", args=[conversion.code])
    response = alice_client.post(url, {"reason": "  "}, follow=True)
    assert "Give a reason for rejecting" in response.content.decode()
    conversion.refresh_from_db()
    assert conversion.status == "pending"
    alice_client.post(url, {"reason": "test order"})
    conversion.refresh_from_db()
    assert (conversion.status, conversion.status_reason) == ("rejected", "test order")


def test_approve_and_reject_are_offered_only_where_the_status_can_move(alice_client, workspace):
    from tests.tracking.postback_world import make_world
    from tracking.services import change_conversion_status, record_conversion

    world = make_world(workspace)
    conversion = record_conversion(
        connection=world["connection"], data=ConversionData(external_id="R-2"), source="postback"
    ).conversion
    detail = reverse("tracking:conversion_detail", args=[conversion.code])
    page = alice_client.get(detail).content.decode()
    assert 'id="approve"' in page and 'id="reject"' in page
    change_conversion_status(conversion=conversion, status="approved")
    page = alice_client.get(detail).content.decode()
    assert 'id="approve"' not in page and 'id="reject"' in page
    change_conversion_status(conversion=conversion, status="rejected", reason="fraud")
    page = alice_client.get(detail).content.decode()
    assert 'id="approve"' not in page and 'id="reject"' not in page


def test_totals_read_as_money_and_count_what_the_dashboard_counts(alice_client, workspace):
    world = make_world(workspace)
    conn = world["connection"]
    for n, (status, source, sale) in enumerate(
        [
            ("pending", "postback", "1200.00"),
            ("approved", "postback", "4268.01"),
            ("reversed", "postback", "999.00"),
            ("rejected", "postback", "50.00"),
            ("approved", "test", "100.00"),
        ]
    ):
        Conversion.objects.create(
            workspace=workspace,
            connection=conn,
            network="impact",
            dedupe_key=f"T-{n}",
            external_id=f"T-{n}",
            status=status,
            source=source,
            currency="USD",
            sale_amount=Decimal(sale),
        )
    page = alice_client.get(reverse("tracking:conversion_list")).content.decode()
    assert "5,468.01 USD" in page  # pending + approved, test conversions left out, as on the dashboard
    assert "pending and approved" in page
    reversed_only = alice_client.get(reverse("tracking:conversion_list"), {"status": "reversed"}).content.decode()
    assert "999.00 USD" in reversed_only


def test_bulk_approve_and_reject_from_the_list(alice_client, workspace, other_workspace):
    world = make_world(workspace)
    conversions = [
        record_conversion(
            connection=world["connection"], data=ConversionData(external_id=f"B-{n}"), source="postback"
        ).conversion
        for n in range(3)
    ]
    foreign_world = make_world(other_workspace)
    foreign = record_conversion(
        connection=foreign_world["connection"], data=ConversionData(external_id="F-1"), source="postback"
    ).conversion
    url = reverse("tracking:bulk_change_status")
    codes = [str(conversions[0].code), str(conversions[1].code), str(foreign.code)]
    response = alice_client.post(url, {"codes": codes, "status": "approved"}, follow=True)
    assert "2 conversions approved" in response.content.decode()
    statuses = dict(Conversion.objects.filter(workspace=workspace).values_list("external_id", "status"))
    assert statuses == {"B-0": "approved", "B-1": "approved", "B-2": "pending"}
    foreign.refresh_from_db()
    assert foreign.status == "pending"  # another workspace's code is not found, never changed
    # Rejecting needs a reason; what cannot move is said, not hidden.
    refused = alice_client.post(url, {"codes": [str(conversions[2].code)], "status": "rejected"}, follow=True)
    assert "Give a reason for rejecting" in refused.content.decode()
    done = alice_client.post(
        url, {"codes": [str(c.code) for c in conversions], "status": "rejected", "reason": "test orders"}, follow=True
    ).content.decode()
    assert "3 conversions rejected" in done


def test_bulk_changes_need_the_manage_right(bob_client, bob, workspace):
    set_role(bob, workspace, "viewer")
    response = bob_client.post(reverse("tracking:bulk_change_status"), {"codes": [], "status": "approved"})
    assert response.status_code == 403
    page = bob_client.get(reverse("tracking:conversion_list")).content.decode()
    assert "Approve selected" not in page
