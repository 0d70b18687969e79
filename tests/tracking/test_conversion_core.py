"""Every writer of a conversion stores the same rows: the one-statement hot path, the ORM path and the
sync's batch insert (with record_conversion for what it hands back), compared field by field."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from networks.bulk import insert_new_conversions
from offers.models import Link, Member, NetworkConnection, Offer, PayoutOverride, PayoutRule, PromoCode
from tracking.models import Click, Conversion, ConversionEvent, ConversionItem, PostbackLog
from tracking.reported import ConversionData, ReportedItem
from tracking.services import record_conversion

pytestmark = pytest.mark.postgres

D = Decimal
WHEN = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LOCK = datetime(2026, 2, 20, 0, 0, tzinfo=UTC)
# Set by the database or random per row: the only fields not compared.
NOT_COMPARED = {"id", "code", "created_at", "updated_at"}


@pytest.fixture
def conn(workspace):
    conn = NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact", currency="EUR")
    ava = Member.objects.create(workspace=workspace, name="Ava", affiliate_id="aff-ava")
    ben = Member.objects.create(workspace=workspace, name="Ben", affiliate_id="aff-ben")
    cara = Member.objects.create(workspace=workspace, name="Cara", affiliate_id="aff-cara")
    dan = Member.objects.create(workspace=workspace, name="Dan", affiliate_id="aff-dan")

    def offer(name, **kw):
        return Offer.objects.create(
            workspace=workspace, name=name, offer_url="https://x.test/?t={transaction_id}", connection=conn, **kw
        )

    flat = offer("Flat", payout_type="flat", payout_flat=D("3.00"))
    percent = offer("Pct", payout_type="percent", payout_percent=D("12.5"), allow_multiple_conversions=True)
    both = offer("Both", payout_type="flat_percent", payout_flat=D("1.00"), payout_percent=D("5"))
    passthrough = offer("Pass", payout_type="passthrough")
    PayoutOverride.objects.create(
        workspace=workspace, offer=flat, member=ava, payout_type="percent", payout_percent=D("20")
    )
    links = {
        "ava-flat": Link.objects.create(workspace=workspace, offer=flat, member=ava),
        "ben-pct": Link.objects.create(workspace=workspace, offer=percent, member=ben),
        "cara-both": Link.objects.create(workspace=workspace, offer=both, member=cara),
        "dan-pass": Link.objects.create(workspace=workspace, offer=passthrough, member=dan),
    }
    Link.objects.create(workspace=workspace, offer=flat, member=cara)  # Cara has two offers: none is chosen
    PromoCode.objects.create(workspace=workspace, member=ben, text="BenCode", key="BENCODE")  # all his offers
    PromoCode.objects.create(workspace=workspace, member=dan, offer=passthrough, text="DAN5", key="DAN5")
    PayoutRule.objects.create(
        workspace=workspace, offer=percent, match="sku", value="SKU-A", payout_type="flat", payout_flat=D("1.25")
    )
    for tid, key in [("t-ava", "ava-flat"), ("t-ben", "ben-pct"), ("t-cara", "cara-both"), ("t-dan", "dan-pass")]:
        link = links[key]
        Click.objects.create(workspace=workspace, transaction_id=tid, link=link, offer=link.offer, member=link.member)
    return conn


def cases() -> list[ConversionData]:
    base = {"sale_amount": D("80.00"), "network_payout": D("4.00"), "event_at": WHEN}
    return [
        ConversionData(external_id="A1", transaction_id="t-ava", status="pending", currency="USD", **base),
        ConversionData(external_id="A2", transaction_id="t-ava", affiliate_id="aff-ben", **base),  # 2nd sale, mismatch
        ConversionData(external_id="A3", affiliate_id="aff-ben", status="approved", locking_at=LOCK, **base),
        ConversionData(external_id="A4", affiliate_id="aff-cara", status="reversed", **base),  # two offers
        ConversionData(external_id="A5", transaction_id="t-unknown", affiliate_id="aff-nobody", **base),
        ConversionData(
            external_id="A6", transaction_id="t-cara", affiliate_id="aff-dan", sale_amount=D("33.33"), event_at=WHEN
        ),
        ConversionData(external_id="A7", transaction_id="t-dan", network_payout=D("7.77"), event_at=WHEN),
        ConversionData(transaction_id="t-ben", sale_amount=D("10.00"), event_at=WHEN),  # id-less, several allowed
        ConversionData(transaction_id="t-ben", sale_amount=D("20.00"), event_at=WHEN),
        ConversionData(external_id="A10", transaction_id="SUMMER", **base),  # a promo text, twice
        ConversionData(external_id="A11", transaction_id="SUMMER", **base),
        ConversionData(external_id="A12", transaction_id="t-ava", status="approved", locking_at=LOCK, **base),
        # Promo codes: a code alone, a click beside another member's code, a code beside an affiliate id,
        # an unknown code beside an affiliate id.
        ConversionData(external_id="A13", promo_code="bencode", **base),
        ConversionData(external_id="A14", transaction_id="t-ava", promo_code="DAN5", **base),
        ConversionData(external_id="A15", promo_code="dan5", affiliate_id="aff-ben", **base),
        ConversionData(external_id="A16", promo_code="NOPE", affiliate_id="aff-ben", **base),
        # Items: priced by Ben's offer's rule and, for the rest, by its 12.5 %.
        ConversionData(
            external_id="A17",
            affiliate_id="aff-ben",
            items=(
                ReportedItem(sku="sku-a", quantity=2, sale_amount=D("30.00")),
                ReportedItem(sku="SKU-B", category="Misc", sale_amount=D("50.00"), network_payout=D("2.00")),
            ),
            **base,
        ),
    ]


def write_statement(conn, items):
    for data in items:
        record_conversion(connection=conn, data=data, source="api_sync")


def write_orm(conn, items):
    # A hit whose log row is already saved (a replay) takes the ORM path on PostgreSQL too.
    for data in items:
        log = PostbackLog.objects.create(workspace=conn.workspace, connection=conn, network="impact", method="GET")
        record_conversion(connection=conn, data=data, source="api_sync", postback=log)


def write_bulk(conn, items):
    created, leftovers = insert_new_conversions(connection=conn, items=items, source="api_sync")
    for data in leftovers:
        record_conversion(connection=conn, data=data, source="api_sync")


def stored_rows() -> dict:
    """Every conversion by its key: all its fields, and its events."""
    fields = [f.attname for f in Conversion._meta.concrete_fields if f.attname not in NOT_COMPARED]
    rows = {}
    for conversion in Conversion.objects.order_by("dedupe_key"):
        values = {name: getattr(conversion, name) for name in fields}
        values["items"] = list(
            ConversionItem.objects.filter(conversion=conversion)
            .order_by("id")
            .values_list("sku", "name", "category", "quantity", "sale_amount", "network_payout")
        )
        values["events"] = list(
            ConversionEvent.objects.filter(conversion=conversion).order_by("id").values_list("kind", "before", "after")
        )
        rows[conversion.dedupe_key] = values
    return rows


def rows_written_by(writer, conn) -> dict:
    with transaction.atomic():
        writer(conn, cases())
        rows = stored_rows()
        transaction.set_rollback(True)
    return rows


def test_every_writer_stores_the_same_rows(conn):
    statement = rows_written_by(write_statement, conn)
    assert len(statement) == 17  # every case is its own conversion: none of them repeats another
    for writer in (write_orm, write_bulk):
        other = rows_written_by(writer, conn)
        assert sorted(other) == sorted(statement), writer.__name__
        for key, values in statement.items():
            for name, value in values.items():
                assert other[key][name] == value, (writer.__name__, key, name)


def test_the_rows_follow_the_rules(conn):
    rows = rows_written_by(write_statement, conn)
    # The second sale on t-ava is its own conversion and does not own the click's slot.
    assert (rows["A1"]["single_per_transaction"], rows["A2"]["single_per_transaction"]) == (True, False)
    assert rows["A2"]["affiliate_mismatch"] is True
    assert rows["A1"]["member_payout"] == D("16.00")  # Ava's override: 20 % of 80.00
    assert rows["A1"]["currency"] == "USD" and rows["A3"]["currency"] == "EUR"
    assert rows["A4"]["offer_id"] is None and rows["A4"]["member_payout"] == D("0.00")
    assert rows["A6"]["member_payout"] == D("2.67")  # 1.00 + 5 % of 33.33
    assert rows["A7"]["member_payout"] == D("7.77")
    assert rows["A12"]["status"] == "approved"
    by_code = rows["A13"]
    assert (by_code["attributed_by"], by_code["promo_code"], by_code["member_payout"]) == (
        "code",
        "bencode",
        D("10.00"),
    )
    assert (rows["A14"]["attributed_by"], rows["A14"]["promo_code_mismatch"]) == ("click", True)
    assert (rows["A15"]["attributed_by"], rows["A15"]["member_payout"], rows["A15"]["affiliate_mismatch"]) == (
        "code",
        D("4.00"),
        True,
    )
    assert rows["A16"]["attributed_by"] == "member"
    # 1.25 x 2 by rule, then 12.5 % of the rest of the sale (80.00 - 30.00).
    assert rows["A17"]["member_payout"] == D("8.75") and len(rows["A17"]["items"]) == 2
    idless = [key for key in rows if key.startswith("tid:t-ben#")]
    assert len(idless) == 2
