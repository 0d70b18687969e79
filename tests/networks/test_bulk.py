"""The batch insert for new actions stores exactly what record_conversion stores."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from networks.bulk import insert_new_conversions
from offers.models import Link, Member, Offer, PayoutOverride
from tests.networks.conftest import make_impact_connection
from tracking.models import Click, Conversion, ConversionEvent
from tracking.reported import ConversionData
from tracking.services import record_conversion

pytestmark = pytest.mark.django_db
FIELDS = [
    "transaction_id", "external_id", "click_id", "offer_id", "member_id", "single_per_transaction", "status",
    "source", "currency", "sale_amount", "network_payout", "member_payout", "payout_basis", "event_at",
    "locking_at", "affiliate_id_given", "affiliate_mismatch", "network", "connection_id",
]  # fmt: skip


@pytest.fixture
def world(workspace):
    conn = make_impact_connection(workspace)
    ava = Member.objects.create(workspace=workspace, name="Ava", affiliate_id="aff-ava")
    ben = Member.objects.create(workspace=workspace, name="Ben", affiliate_id="aff-ben")
    cara = Member.objects.create(workspace=workspace, name="Cara", affiliate_id="aff-cara")
    flat = Offer.objects.create(
        workspace=workspace, name="Flat", offer_url="https://x.test/?t={transaction_id}", connection=conn,
        payout_type="flat", payout_flat=Decimal("3.00"),
    )  # fmt: skip
    percent = Offer.objects.create(
        workspace=workspace, name="Pct", offer_url="https://x.test/?t={transaction_id}", connection=conn,
        payout_type="percent", payout_percent=Decimal("12.5"), allow_multiple_conversions=True,
    )  # fmt: skip
    PayoutOverride.objects.create(
        workspace=workspace, offer=flat, member=ava, payout_type="flat", payout_flat=Decimal("5.00")
    )
    ava_flat = Link.objects.create(workspace=workspace, offer=flat, member=ava)
    Link.objects.create(workspace=workspace, offer=percent, member=ben)
    Link.objects.create(workspace=workspace, offer=flat, member=cara)
    Link.objects.create(workspace=workspace, offer=percent, member=cara)  # two offers: none is chosen
    Click.objects.create(workspace=workspace, transaction_id="t-ava-1", link=ava_flat, offer=flat, member=ava)
    Click.objects.create(workspace=workspace, transaction_id="t-ava-2", link=ava_flat, offer=flat, member=ava)
    return conn


def cases(prefix: str) -> list[ConversionData]:
    when = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    base = {"sale_amount": Decimal("80.00"), "network_payout": Decimal("4.00"), "currency": "USD", "event_at": when}
    return [
        ConversionData(external_id=f"{prefix}1", transaction_id="t-ava-1", status="pending", **base),
        ConversionData(external_id=f"{prefix}2", transaction_id="t-ava-2", affiliate_id="aff-ben", **base),
        ConversionData(external_id=f"{prefix}3", affiliate_id="aff-ben", status="approved", locking_at=when, **base),
        ConversionData(external_id=f"{prefix}4", affiliate_id="aff-cara", status="reversed", **base),
        ConversionData(external_id=f"{prefix}5", transaction_id="t-unknown", affiliate_id="aff-nobody", **base),
        ConversionData(external_id=f"{prefix}6", transaction_id="t-ava-1", **base),  # one per click: duplicate
    ]


def test_both_paths_store_the_same_conversions_and_events(world):
    for data in cases("slow-"):
        record_conversion(connection=world, data=data, source="api_sync")
    Conversion.objects.filter(external_id__startswith="slow-").update(transaction_id="", single_per_transaction=False)
    # The one-per-click conflict on t-ava-1 is left for record_conversion.
    created, leftovers = insert_new_conversions(connection=world, items=cases("fast-"), source="api_sync")
    assert created == 5 and [d.external_id for d in leftovers] == ["fast-6"]

    for n in range(1, 6):
        slow = Conversion.objects.get(external_id=f"slow-{n}")
        fast = Conversion.objects.get(external_id=f"fast-{n}")
        for name in FIELDS:
            if name in ("external_id", "transaction_id", "single_per_transaction"):
                continue
            assert getattr(fast, name) == getattr(slow, name), (n, name)
        slow_event = ConversionEvent.objects.get(conversion=slow)
        fast_event = ConversionEvent.objects.get(conversion=fast)
        assert (fast_event.kind, fast_event.before, fast_event.after) == (
            slow_event.kind,
            slow_event.before,
            slow_event.after,
        )
    assert Conversion.objects.get(external_id="fast-1").member_payout == Decimal("5.00")  # Ava's override
    assert Conversion.objects.get(external_id="fast-2").affiliate_mismatch is True
    assert Conversion.objects.get(external_id="fast-3").member_payout == Decimal("10.00")  # 12.5% of 80
    assert Conversion.objects.get(external_id="fast-4").offer_id is None  # Cara has two offers
    assert Conversion.objects.get(external_id="fast-5").member_id is None


def test_values_record_conversion_would_question_are_left_to_it(world):
    odd = [
        ConversionData(external_id="x1", sale_amount=Decimal("-1")),
        ConversionData(external_id="x2", currency="US"),
        ConversionData(external_id="", transaction_id=""),
    ]
    created, leftovers = insert_new_conversions(connection=world, items=odd, source="api_sync")
    assert created == 0 and leftovers == odd
