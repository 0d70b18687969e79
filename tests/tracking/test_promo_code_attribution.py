"""Promo codes attribute sales that come without a click id: click, then code, then affiliate id."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from networks.bulk import insert_new_conversions
from networks.records import to_conversion_data
from networks.services.impact_actions import action_to_data
from offers.models import Link, PromoCode
from tests.tracking.postback_world import make_member, make_offer, make_world
from tracking.models import Conversion, PostbackLog
from tracking.reported import ConversionData
from tracking.services import record_conversion


@pytest.fixture
def world(workspace):
    world = make_world(workspace, kind="impact")
    ben = make_member(workspace, name="Ben")
    Link.objects.create(workspace=workspace, offer=world["offer"], member=ben)
    world["ben"] = ben
    world["code"] = PromoCode.objects.create(workspace=workspace, member=ben, text="Ben20", key="BEN20")
    return world


def postback(client, world, query):
    conn = world["connection"]
    return client.get(f"/postback/impact/{conn.postback_secret}?{query}")


def test_a_code_without_a_click_id_credits_the_codes_member(client, world):
    response = postback(client, world, "action_id=A1&amount=50.00&promocode=ben20")
    assert response.content == b"accepted"
    conversion = Conversion.objects.get()
    assert conversion.member == world["ben"]
    assert conversion.offer == world["offer"]  # a code for all offers: Ben's one offer on the network
    assert conversion.attributed_by == "code"
    assert conversion.promo_code == "ben20"
    assert conversion.member_payout == Decimal("5.00")  # the offer's 10 %


def test_a_code_for_one_offer_credits_that_offer(client, world, workspace):
    other = make_offer(workspace, world["connection"], name="Autumn", payout_type="flat", payout_flat=Decimal("7"))
    world["code"].offer = other
    world["code"].save(update_fields=["offer"])
    postback(client, world, "action_id=A1&amount=50.00&coupon=BEN20")
    conversion = Conversion.objects.get()
    assert (conversion.member, conversion.offer, conversion.member_payout) == (world["ben"], other, Decimal("7.00"))


def test_with_a_click_and_another_members_code_the_click_wins_and_the_disagreement_is_logged(client, world):
    tid = world["click"].transaction_id
    assert postback(client, world, f"subid1={tid}&action_id=A1&amount=50.00&promo_code=BEN20").content == b"accepted"
    conversion = Conversion.objects.get()
    assert conversion.member == world["member"]
    assert conversion.attributed_by == "click"
    assert conversion.promo_code_mismatch is True
    log = PostbackLog.objects.get()
    assert "promo code Ben20 belongs to" in log.reason and "keeps the sale" in log.reason


def test_a_click_with_its_own_members_code_is_no_disagreement(client, world, workspace):
    PromoCode.objects.create(workspace=workspace, member=world["member"], text="AVA", key="AVA")
    tid = world["click"].transaction_id
    postback(client, world, f"subid1={tid}&action_id=A1&amount=50.00&promo_code=ava")
    conversion = Conversion.objects.get()
    assert (conversion.attributed_by, conversion.promo_code_mismatch) == ("click", False)
    assert PostbackLog.objects.get().reason == ""


def test_a_code_comes_before_an_affiliate_id(client, world):
    aff = world["member"].affiliate_id
    postback(client, world, f"action_id=A1&amount=50.00&subid2={aff}&promo_code=ben20")
    conversion = Conversion.objects.get()
    assert (conversion.member, conversion.attributed_by) == (world["ben"], "code")
    assert conversion.affiliate_mismatch is True


def test_an_unknown_code_falls_back_to_the_affiliate_id(client, world):
    aff = world["member"].affiliate_id
    postback(client, world, f"action_id=A1&amount=50.00&subid2={aff}&promo_code=NOPE")
    conversion = Conversion.objects.get()
    assert (conversion.member, conversion.attributed_by) == (world["member"], "member")
    assert "unknown promo code NOPE" in PostbackLog.objects.get().reason


def test_an_unknown_code_alone_is_unattributed(client, world):
    assert postback(client, world, "action_id=A1&amount=50.00&promo_code=NOPE").content == b"unattributed"
    assert Conversion.objects.get().attributed_by == ""


def test_another_workspaces_code_attributes_nothing(client, world, other_workspace):
    other_member = make_member(other_workspace, name="Cara")
    PromoCode.objects.create(workspace=other_workspace, member=other_member, text="CARA", key="CARA")
    assert postback(client, world, "action_id=A1&amount=5.00&promo_code=CARA").content == b"unattributed"


@pytest.mark.django_db(transaction=True)
def test_a_postback_without_a_code_runs_no_code_query(client, world):
    tid = world["click"].transaction_id
    with CaptureQueriesContext(connection) as plain:
        postback(client, world, f"subid1={tid}&action_id=A1&amount=10.00")
    with CaptureQueriesContext(connection) as with_code:
        postback(client, world, "action_id=A2&amount=10.00&promo_code=BEN20")
    code_table = PromoCode._meta.db_table
    assert not any(code_table in (q["sql"] or "") for q in plain.captured_queries)
    # The code, Ben's one offer on the network, his payout override: three reads more.
    assert len(with_code.captured_queries) == len(plain.captured_queries) + 3


def test_an_impact_sync_record_with_a_promo_code_is_attributed_in_bulk(world):
    record = {"Id": "1000.1", "State": "PENDING", "Amount": "40.00", "Payout": "4.00", "PromoCode": "ben20"}
    data = action_to_data(record, world["connection"])
    assert data.promo_code == "ben20"
    created, leftovers = insert_new_conversions(connection=world["connection"], items=[data], source="api_sync")
    assert (created, leftovers) == (1, [])
    conversion = Conversion.objects.get()
    assert (conversion.member, conversion.attributed_by, conversion.member_payout) == (
        world["ben"],
        "code",
        Decimal("4.00"),
    )


def test_an_awin_voucher_code_reaches_the_conversion_core(world):
    from networks.awin import transaction_record

    tx = {
        "id": 99,
        "commissionStatus": "pending",
        "commissionAmount": {"amount": Decimal("1.50"), "currency": "GBP"},
        "saleAmount": {"amount": Decimal("30"), "currency": "GBP"},
        "clickRefs": {},
        "transactionDate": "2026-01-02T10:00:00",
        "voucherCode": "BEN20",
    }
    data = to_conversion_data(transaction_record(tx))
    result = record_conversion(connection=world["connection"], data=data, source="api_sync")
    assert (result.conversion.member, result.conversion.attributed_by) == (world["ben"], "code")


def test_data_without_a_code_keeps_its_old_attribution(world):
    data = ConversionData(external_id="A9", affiliate_id=world["ben"].affiliate_id, sale_amount=Decimal("1.00"))
    result = record_conversion(connection=world["connection"], data=data, source="postback")
    assert (result.conversion.member, result.conversion.attributed_by) == (world["ben"], "member")
