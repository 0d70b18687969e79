"""A conversion that came without a network id is adopted by the network's first record of that click."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from payments.models import AccountKind
from tests.payments.helpers import balance, drain, payable
from tests.tracking.postback_world import make_world
from tracking.models import Conversion, ConversionAlias, ConversionChange, ConversionEvent, PostbackLog
from tracking.reported import ConversionData
from tracking.services import change_conversion_status, record_conversion

D = Decimal
LOCKED = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


def minimal_pixel(client, world, **extra):
    """The minimal Impact pixel: transaction id, affiliate id, amount and payout, no ActionId."""
    query = {
        "subid1": world["click"].transaction_id,
        "subid2": world["member"].affiliate_id,
        "amount": "100.00",
        "payout": "10.00",
        **extra,
    }
    response = client.get(f"/pixel/{world['connection'].postback_secret}.gif", query)
    assert response.status_code == 200
    return PostbackLog.objects.order_by("id").last()


def sync_record(world, action_id="1000.1.1", **kw):
    values = {
        "transaction_id": world["click"].transaction_id,
        "affiliate_id": world["member"].affiliate_id,
        "external_id": action_id,
        "sale_amount": D("95.00"),
        "network_payout": D("9.50"),
        "status": "approved",
        "currency": "USD",
        "locking_at": LOCKED,
    }
    values.update(kw)
    return record_conversion(connection=world["connection"], data=ConversionData(**values), source="api_sync")


def test_the_first_network_record_adopts_the_pixel_conversion(client, world):
    pixel = minimal_pixel(client, world)
    conversion = pixel.conversion
    assert (conversion.external_id, conversion.dedupe_key) == ("", f"tid:{world['click'].transaction_id}")

    result = sync_record(world)
    assert result.outcome == "updated"
    assert "adopted" in result.reason
    assert Conversion.objects.count() == 1
    conversion.refresh_from_db()
    assert (conversion.external_id, conversion.dedupe_key, conversion.status) == ("1000.1.1", "1000.1.1", "approved")
    assert (conversion.sale_amount, conversion.network_payout, conversion.locking_at) == (D("95.00"), D("9.50"), LOCKED)
    # Priced with the terms it was first priced with (10 % of the sale).
    assert conversion.member_payout == D("9.50")
    assert conversion.source == "pixel"
    change = ConversionChange.objects.get(conversion=conversion)
    assert change.changes["external_id"] == ["", "1000.1.1"]
    assert change.changes["status"] == ["pending", "approved"]
    assert [e.kind for e in ConversionEvent.objects.filter(conversion=conversion).order_by("id")] == [
        "created",
        "adopted",
    ]
    # The ledger gets the difference: nothing was posted for the pending pixel, all of it now.
    drain()
    assert balance(world["connection"].workspace, AccountKind.RECEIVABLE) == D("9.50")
    assert payable(world["connection"].workspace, world["member"]) == D("9.50")


def test_a_late_retry_of_the_pixel_is_a_duplicate_of_the_adopted_conversion(client, world):
    minimal_pixel(client, world)
    adopted = sync_record(world).conversion
    retry = minimal_pixel(client, world)
    assert (retry.outcome, retry.conversion) == ("duplicate", adopted)
    assert "1000.1.1" in retry.reason
    assert Conversion.objects.count() == 1
    assert ConversionAlias.objects.get().key == f"tid:{world['click'].transaction_id}"


def test_the_network_record_first_then_the_pixel_is_one_conversion(client, world):
    first = sync_record(world).conversion
    pixel = minimal_pixel(client, world)
    assert (pixel.outcome, pixel.conversion) == ("duplicate", first)
    assert Conversion.objects.count() == 1


def test_later_network_records_on_the_same_click_are_new_conversions(client, world):
    minimal_pixel(client, world)
    sync_record(world, action_id="1000.1.1")
    second = sync_record(world, action_id="1000.1.2", sale_amount=D("40.00"))
    assert second.outcome == "accepted"
    assert sorted(Conversion.objects.values_list("external_id", flat=True)) == ["1000.1.1", "1000.1.2"]


def test_a_postback_with_an_action_id_adopts_too(client, world):
    minimal_pixel(client, world)
    tid = world["click"].transaction_id
    response = client.get(
        f"/postback/impact/{world['connection'].postback_secret}",
        {"action_id": "1000.9.9", "subid1": tid, "status": "PENDING", "amount": "100.00", "payout": "10.00"},
    )
    assert response.content == b"updated"
    assert list(Conversion.objects.values_list("external_id", flat=True)) == ["1000.9.9"]


def test_a_repeated_network_record_after_adoption_changes_nothing(client, world):
    minimal_pixel(client, world)
    sync_record(world)
    again = sync_record(world)
    assert (again.outcome, again.repeat) == ("duplicate", True)
    assert ConversionEvent.objects.count() == 2


def test_with_several_sales_per_click_each_record_adopts_its_own_pixel(client, workspace):
    world = make_world(workspace, kind="impact", allow_multiple_conversions=True)
    when = "2026-01-10T10:00:00Z"
    minimal_pixel(client, world, amount="30.00", event_date=when)
    minimal_pixel(client, world, amount="70.00", event_date=when)
    assert Conversion.objects.count() == 2
    sync_record(world, action_id="A-70", sale_amount=D("70.00"))
    sync_record(world, action_id="A-30", sale_amount=D("30.00"))
    assert sorted(Conversion.objects.values_list("external_id", "sale_amount")) == [
        ("A-30", D("30.00")),
        ("A-70", D("70.00")),
    ]
    # Retries of either pixel stay duplicates.
    assert minimal_pixel(client, world, amount="70.00", event_date=when).outcome == "duplicate"
    assert Conversion.objects.count() == 2


def test_a_network_record_takes_an_approved_conversion_back_to_pending(world):
    # Impact re-opens an approved action it modifies, until it locks again.
    conversion = sync_record(world).conversion
    drain()
    assert payable(world["connection"].workspace, world["member"]) == D("9.50")
    relock = LOCKED + timedelta(days=14)
    result = sync_record(world, status="pending", sale_amount=D("80.00"), network_payout=D("8.00"), locking_at=relock)
    assert result.outcome == "updated"
    conversion.refresh_from_db()
    assert (conversion.status, conversion.sale_amount, conversion.locking_at) == ("pending", D("80.00"), relock)
    drain()
    # Pending carries no money: what the approval posted is taken back.
    assert payable(world["connection"].workspace, world["member"]) == D("0.00")
    assert balance(world["connection"].workspace, AccountKind.RECEIVABLE) == D("0.00")
    sync_record(world, status="approved", sale_amount=D("80.00"), network_payout=D("8.00"), locking_at=relock)
    drain()
    assert payable(world["connection"].workspace, world["member"]) == D("8.00")


def test_a_postback_cannot_take_an_approved_conversion_back(client, world):
    sync_record(world)
    tid = world["click"].transaction_id
    response = client.get(
        f"/postback/impact/{world['connection'].postback_secret}",
        {"action_id": "1000.1.1", "subid1": tid, "status": "PENDING"},
    )
    assert response.content == b"duplicate"
    assert Conversion.objects.get().status == "approved"


def test_reversed_stays_reversed_even_for_the_network(world):
    conversion = sync_record(world).conversion
    change_conversion_status(conversion=conversion, status="reversed")
    assert sync_record(world, status="pending").outcome == "duplicate"
    conversion.refresh_from_db()
    assert conversion.status == "reversed"
