"""record_conversion, change_conversion_status, reattribute_conversion, recompute_member_payout."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from offers.models import PayoutOverride
from tests.tracking.postback_world import make_click, make_member, make_world
from tracking.models import Conversion, ConversionChange, ConversionEvent, PostbackLog
from tracking.reported import ConversionData
from tracking.services import (
    change_conversion_status,
    reattribute_conversion,
    recompute_member_payout,
    record_conversion,
)
from workspaces.errors import DomainError

D = Decimal


@pytest.fixture
def world(workspace):
    return make_world(workspace)


def record(world, source="postback", **kw):
    return record_conversion(connection=world["connection"], data=ConversionData(**kw), source=source)


def test_it_creates_an_attributed_conversion_with_payout_and_event(world):
    tid = world["click"].transaction_id
    result = record(world, transaction_id=tid, external_id="1000.1", sale_amount=D("120.00"), network_payout=D("9.00"))
    assert result.outcome == "accepted"
    conv = result.conversion
    conv.refresh_from_db()
    assert (conv.member, conv.offer, conv.click) == (world["member"], world["offer"], world["click"])
    assert conv.status == "pending"
    assert conv.member_payout == D("12.00")
    assert conv.payout_basis["formula"] == "10% of sale 120.00 = 12.00"
    assert conv.currency == "USD"
    event = ConversionEvent.objects.get(conversion=conv)
    assert event.kind == "created"
    assert event.before == {}
    assert event.after == {
        "status": "pending",
        "sale_amount": "120.00",
        "network_payout": "9.00",
        "member_payout": "12.00",
        "member_id": world["member"].id,
        "currency": "USD",
        "connection_id": world["connection"].id,
        "source": "postback",
    }


def test_a_repeat_is_a_duplicate_without_a_new_row_or_event(world):
    tid = world["click"].transaction_id
    first = record(world, transaction_id=tid, external_id="A1", sale_amount=D("10.00"))
    again = record(world, transaction_id=tid, external_id="A1", sale_amount=D("10.00"))
    assert again.outcome == "duplicate"
    assert again.conversion.pk == first.conversion.pk
    assert Conversion.objects.count() == 1
    assert ConversionEvent.objects.count() == 1


def test_without_external_id_the_transaction_id_is_the_key(world):
    tid = world["click"].transaction_id
    first = record(world, transaction_id=tid, sale_amount=D("10.00"))
    assert first.conversion.dedupe_key == "tid:" + tid
    assert record(world, transaction_id=tid, sale_amount=D("10.00")).outcome == "duplicate"


def test_status_moves_forward_and_writes_history_and_events(world):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, external_id="A1", sale_amount=D("10.00"))
    up = record(world, transaction_id=tid, external_id="A1", status="approved")
    assert up.outcome == "updated"
    assert up.conversion.status == "approved"
    rev = record(world, transaction_id=tid, external_id="A1", status="reversed")
    assert rev.outcome == "updated"
    events = list(ConversionEvent.objects.order_by("id").values_list("kind", "before__status", "after__status"))
    assert events == [
        ("created", None, "pending"),
        ("status_changed", "pending", "approved"),
        ("status_changed", "approved", "reversed"),
    ]
    history = [c.changes for c in ConversionChange.objects.order_by("id")]
    assert history == [{"status": ["pending", "approved"]}, {"status": ["approved", "reversed"]}]


def test_status_never_moves_backwards(world):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, external_id="A1", status="approved")
    back = record(world, transaction_id=tid, external_id="A1", status="pending")
    assert back.outcome == "duplicate"
    assert "ignored" in back.reason
    assert Conversion.objects.get().status == "approved"
    assert ConversionEvent.objects.count() == 1


def test_rejected_is_final(world):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, status="rejected")
    again = record(world, transaction_id=tid, status="approved")
    assert again.outcome == "duplicate"
    assert Conversion.objects.get().status == "rejected"


def test_amount_change_updates_payout_with_the_original_terms(world):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, external_id="A1", sale_amount=D("100.00"), network_payout=D("8.00"))
    # The offer's terms change later; an amount update keeps the terms the conversion was priced with.
    world["offer"].payout_percent = D("50")
    world["offer"].save()
    res = record(world, transaction_id=tid, external_id="A1", sale_amount=D("80.00"), network_payout=D("6.40"))
    assert res.outcome == "updated"
    conv = Conversion.objects.get()
    assert conv.sale_amount == D("80.00")
    assert conv.member_payout == D("8.00")
    change = ConversionChange.objects.get()
    assert change.changes == {
        "sale_amount": ["100.00", "80.00"],
        "network_payout": ["8.00", "6.40"],
        "member_payout": ["10.00", "8.00"],
    }
    event = ConversionEvent.objects.order_by("id").last()
    assert event.kind == "amount_changed"
    assert (event.before["member_payout"], event.after["member_payout"]) == ("10.00", "8.00")


def test_distinct_network_ids_are_distinct_conversions_whatever_the_offer_allows(world, workspace):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, external_id="ORDER-1", sale_amount=D("10.00"))
    second = record(world, transaction_id=tid, external_id="ORDER-2", sale_amount=D("20.00"))
    assert second.outcome == "accepted"
    assert sorted(Conversion.objects.values_list("external_id", "member_payout")) == [
        ("ORDER-1", D("1.00")),
        ("ORDER-2", D("2.00")),
    ]
    # Only the first owns the click's id-less slot.
    assert list(Conversion.objects.order_by("id").values_list("single_per_transaction", flat=True)) == [True, False]


def test_records_sharing_a_non_click_sub_id_are_all_kept(world):
    # Impact's SubId1 carried a promo text instead of our click id.
    for n in range(3):
        result = record(world, transaction_id="SUMMER24", external_id=f"1000.{n}", sale_amount=D("5.00"))
        assert result.outcome == "unattributed"
    assert Conversion.objects.filter(transaction_id="SUMMER24").count() == 3


def test_without_network_ids_one_click_has_one_conversion_unless_the_offer_allows_several(world, workspace):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, sale_amount=D("10.00"))
    # Without an id, a different amount on the same click is the same conversion, updated.
    assert record(world, transaction_id=tid, sale_amount=D("12.00")).outcome == "updated"
    assert Conversion.objects.count() == 1

    multi = make_world(workspace, kind="shareasale", allow_multiple_conversions=True)
    tid2 = multi["click"].transaction_id
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    first = record(multi, transaction_id=tid2, sale_amount=D("10.00"), event_at=when)
    second = record(multi, transaction_id=tid2, sale_amount=D("30.00"), event_at=when)
    retry = record(multi, transaction_id=tid2, sale_amount=D("30.00"), event_at=when)
    update = record(multi, transaction_id=tid2, sale_amount=D("10.00"), event_at=when, status="approved")
    assert [r.outcome for r in (first, second, retry, update)] == ["accepted", "accepted", "duplicate", "updated"]
    assert retry.repeat and retry.conversion == second.conversion
    assert update.conversion == first.conversion
    assert Conversion.objects.filter(transaction_id=tid2).count() == 2


def test_an_id_less_hit_on_a_click_a_network_record_owns_is_a_duplicate_of_it(world):
    tid = world["click"].transaction_id
    owner = record(world, transaction_id=tid, external_id="1000.1", sale_amount=D("10.00")).conversion
    late = record(world, transaction_id=tid, sale_amount=D("10.00"))
    assert (late.outcome, late.conversion, late.repeat) == ("duplicate", owner, False)
    assert "duplicate of conversion 1000.1" in late.reason
    assert Conversion.objects.count() == 1


def test_an_unknown_transaction_id_is_kept_unattributed(world):
    res = record(world, transaction_id="nope-123", sale_amount=D("5.00"))
    assert res.outcome == "unattributed"
    assert "unknown transaction_id nope-123" in res.reason
    conv = res.conversion
    assert (conv.click, conv.member, conv.offer) == (None, None, None)
    assert conv.member_payout == D("0.00")
    assert ConversionEvent.objects.get(conversion=conv).after["member_id"] is None


def test_an_affiliate_id_mismatch_keeps_the_conversion_and_flags_it(world):
    res = record(world, transaction_id=world["click"].transaction_id, affiliate_id="mSOMEONEELSE")
    assert res.outcome == "accepted"
    assert "does not match" in res.reason
    assert res.conversion.affiliate_mismatch is True
    assert res.conversion.member == world["member"]


def test_an_affiliate_id_alone_attributes_to_the_member_and_their_offer(world):
    res = record(world, affiliate_id=world["member"].affiliate_id, external_id="ORDER-10078", sale_amount=D("84.50"))
    assert res.outcome == "accepted"
    assert res.conversion.member == world["member"]
    assert res.conversion.offer == world["offer"]
    assert res.conversion.member_payout == D("8.45")


def test_override_at_conversion_time_is_used(world, workspace):
    PayoutOverride.objects.create(
        workspace=workspace, offer=world["offer"], member=world["member"], payout_type="flat", payout_flat=D("7.50")
    )
    res = record(world, transaction_id=world["click"].transaction_id, sale_amount=D("300.00"))
    assert res.conversion.member_payout == D("7.50")
    assert res.conversion.payout_basis["origin"] == "override"


def test_same_transaction_id_text_in_two_workspaces_makes_two_conversions(world, other_workspace):
    other = make_world(other_workspace)
    for w in (world, other):
        assert record(w, transaction_id="shared-text", external_id="1000.1").outcome == "unattributed"
    assert Conversion.objects.count() == 2


def test_invalid_values_are_rejected(world):
    assert record(world).outcome == "rejected"
    assert record(world, transaction_id="t", sale_amount=D("-1")).outcome == "rejected"
    assert record(world, transaction_id="t", status="paid").outcome == "rejected"
    assert record(world, transaction_id="t", currency="US").outcome == "rejected"
    assert Conversion.objects.count() == 0


def test_a_changed_currency_is_rejected(world):
    tid = world["click"].transaction_id
    record(world, transaction_id=tid, currency="USD", sale_amount=D("1.00"))
    res = record(world, transaction_id=tid, currency="EUR", sale_amount=D("2.00"))
    assert res.outcome == "rejected"
    assert Conversion.objects.get().sale_amount == D("1.00")


def test_the_postback_log_row_is_saved_with_the_outcome(world):
    tid = world["click"].transaction_id
    log = PostbackLog(network="impact", method="GET", params={"subid1": tid})
    res = record_conversion(
        connection=world["connection"], data=ConversionData(transaction_id=tid), source="postback", postback=log
    )
    log.refresh_from_db()
    assert (log.outcome, log.conversion, log.workspace_id) == ("accepted", res.conversion, world["offer"].workspace_id)
    log2 = PostbackLog(network="impact", method="GET")
    record_conversion(
        connection=world["connection"],
        data=ConversionData(transaction_id=tid, status="approved"),
        source="postback",
        postback=log2,
    )
    assert ConversionChange.objects.get().postback == log2


def test_event_time_and_locking_date_are_kept(world):
    at = datetime(2024, 9, 10, 17, 42, 38, tzinfo=UTC)
    res = record(world, transaction_id=world["click"].transaction_id, event_at=at, locking_at=at)
    assert (res.conversion.event_at, res.conversion.locking_at) == (at, at)


def test_change_conversion_status_moves_forward_only(world):
    conv = record(world, transaction_id=world["click"].transaction_id, sale_amount=D("10.00")).conversion
    conv = change_conversion_status(conversion=conv, status="approved", reason="checked", actor="alice")
    assert conv.status == "approved"
    change = ConversionChange.objects.get()
    assert (change.note, change.actor, change.source) == ("checked", "alice", "manual")
    with pytest.raises(DomainError):
        change_conversion_status(conversion=conv, status="pending")
    with pytest.raises(DomainError):
        change_conversion_status(conversion=conv, status="approved")
    change_conversion_status(conversion=conv, status="rejected", reason="fraud")
    with pytest.raises(DomainError):
        change_conversion_status(conversion=conv, status="reversed")
    assert [e.kind for e in ConversionEvent.objects.order_by("id")] == ["created", "status_changed", "status_changed"]


def test_reattribute_to_a_click_prices_the_conversion(world):
    conv = record(world, transaction_id="lost-1", sale_amount=D("50.00")).conversion
    conv = reattribute_conversion(conversion=conv, click=world["click"], actor="bob")
    assert (conv.member, conv.offer, conv.click) == (world["member"], world["offer"], world["click"])
    assert conv.member_payout == D("5.00")
    event = ConversionEvent.objects.order_by("id").last()
    assert event.kind == "attributed"
    assert (event.before["member_id"], event.after["member_id"]) == (None, world["member"].id)
    with pytest.raises(DomainError):
        reattribute_conversion(conversion=conv, click=world["click"])


def test_reattribute_to_a_member_uses_their_offer_on_the_connection(world, workspace):
    conv = record(world, transaction_id="lost-2", sale_amount=D("50.00")).conversion
    conv = reattribute_conversion(conversion=conv, member=world["member"])
    assert conv.offer == world["offer"]
    assert conv.click is None
    loner = make_member(workspace, name="No links")
    conv = reattribute_conversion(conversion=conv, member=loner)
    assert conv.member == loner


def test_reattribute_refuses_foreign_objects(world, other_workspace):
    other = make_world(other_workspace)
    conv = record(world, transaction_id="lost-3").conversion
    with pytest.raises(DomainError):
        reattribute_conversion(conversion=conv, click=other["click"])
    with pytest.raises(DomainError):
        reattribute_conversion(conversion=conv, member=other["member"])
    with pytest.raises(DomainError):
        reattribute_conversion(conversion=conv)


def test_recompute_member_payout_uses_current_terms(world):
    conv = record(world, transaction_id=world["click"].transaction_id, sale_amount=D("100.00")).conversion
    world["offer"].payout_type = "flat_percent"
    world["offer"].payout_flat = D("2.00")
    world["offer"].save()
    # Terms are frozen until someone asks for a recompute.
    conv.refresh_from_db()
    assert conv.member_payout == D("10.00")
    conv = recompute_member_payout(conversion=conv, actor="alice")
    assert conv.member_payout == D("12.00")
    assert ConversionEvent.objects.order_by("id").last().kind == "amount_changed"
    # Nothing changed: no new event.
    recompute_member_payout(conversion=conv)
    assert ConversionEvent.objects.count() == 2


def test_a_click_made_later_in_another_link_does_not_steal_the_conversion(world):
    conv = record(world, transaction_id=world["click"].transaction_id).conversion
    make_click(world["link"])
    again = record(world, transaction_id=world["click"].transaction_id)
    assert again.conversion.pk == conv.pk


def test_a_postback_and_an_api_sync_of_one_sale_are_one_conversion(world):
    tid = world["click"].transaction_id
    first = record(world, transaction_id=tid, external_id="1000.4636.158133", sale_amount=D("21.99"))
    synced = record(
        world,
        source="api_sync",
        transaction_id=tid,
        affiliate_id=world["member"].affiliate_id,
        external_id="1000.4636.158133",
        sale_amount=D("21.99"),
        status="approved",
    )
    assert synced.outcome == "updated"
    assert synced.conversion.pk == first.conversion.pk
    assert Conversion.objects.count() == 1
    assert ConversionChange.objects.get().source == "api_sync"


def test_a_click_of_another_connections_offer_is_noted(world, workspace):
    other = make_world(workspace, kind="shareasale")
    res = record(world, transaction_id=other["click"].transaction_id)
    assert res.outcome == "accepted"
    assert res.conversion.member == other["member"]
    assert "another network connection" in res.reason


def test_an_approval_without_a_locking_date_locks_the_conversion_now(world):
    # A ShareASale postback carries no status or locking date; the manager's approval is the lock.
    pending = record(world, transaction_id=world["click"].transaction_id, sale_amount=D("40.00")).conversion
    assert pending.locking_at is None
    before = timezone.now()
    approved = change_conversion_status(conversion=pending, status="approved")
    assert before <= approved.locking_at <= timezone.now()
    # A network's own locking date is kept.
    locked = datetime(2026, 3, 1, tzinfo=UTC)
    other = record(world, external_id="N-2", status="approved", locking_at=locked).conversion
    assert other.locking_at == locked
    # An approval arriving by postback locks it too.
    third = record(world, external_id="N-3", affiliate_id=world["member"].affiliate_id).conversion
    assert record(world, external_id="N-3", status="approved").conversion.locking_at is not None
    third.refresh_from_db()
    assert third.locking_at is not None
