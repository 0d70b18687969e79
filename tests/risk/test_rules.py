"""One test per fraud rule: it fires past its threshold, with its reason, and stays quiet below it."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from offers.models import Member
from risk import rules
from risk.models import OrderRef, RiskSettings, Rule
from risk.services import facts_for
from tests.risk.helpers import click, convert, world
from tests.tracking.postback_world import make_connection
from tracking.models import Conversion, ConversionSource


def check(rule, conversion, **settings):
    conversion = Conversion.objects.select_related("click__member", "member", "offer").get(pk=conversion.pk)
    return rule(facts_for(conversion), RiskSettings(workspace=conversion.workspace, **settings))


def test_click_velocity_counts_one_visitors_clicks_on_the_link_in_the_hour(workspace):
    w = world(workspace)
    now = timezone.now()
    for minutes in (50, 40, 30):
        click(w, at=now - timedelta(minutes=minutes))
    click(w, at=now - timedelta(minutes=90))  # outside the hour
    click(w, at=now - timedelta(minutes=20), ip_hash="someone-else")
    last = click(w, at=now - timedelta(minutes=10))
    conversion = convert(w, the_click=last, after=timedelta(minutes=5))
    found = check(rules.click_velocity, conversion, velocity_clicks=3)
    assert found.rule == Rule.CLICK_VELOCITY and found.evidence["clicks"] == 4
    assert "4 clicks from one visitor" in found.reason
    assert check(rules.click_velocity, conversion, velocity_clicks=4) is None


def test_bot_share_needs_a_sample_and_fires_above_the_share(workspace):
    w = world(workspace)
    for n in range(rules.BOT_SHARE_MIN_CLICKS - 2):  # with the world's click and the converting one: 20
        click(w, ip_hash=f"v{n}", is_bot=n < 12, at=timezone.now() - timedelta(days=1))
    conversion = convert(w)  # 12 of 20 clicks are bots: 60 %
    found = check(rules.bot_share, conversion, bot_share_percent=50)
    assert found.evidence == {"bots": 12, "clicks": 20} and "60 %" in found.reason
    assert check(rules.bot_share, conversion, bot_share_percent=60) is None


def test_bot_share_stays_quiet_on_a_small_sample(workspace):
    w = world(workspace)
    click(w, is_bot=True)
    assert check(rules.bot_share, convert(w), bot_share_percent=1) is None


def test_too_soon_fires_under_the_seconds(workspace):
    w = world(workspace)
    quick = convert(w, after=timedelta(seconds=3))
    assert "3 s after its click" in check(rules.too_soon, quick, too_soon_seconds=10).reason
    assert check(rules.too_soon, convert(w, after=timedelta(seconds=30)), too_soon_seconds=10) is None


def test_too_late_fires_beyond_the_window(workspace):
    w = world(workspace)
    old = click(w, at=timezone.now() - timedelta(days=45))
    late = convert(w, the_click=old, after=timedelta(days=40))
    # The offer's attribution window decides (30 days unless the offer says otherwise) ...
    found = check(rules.too_late, late, too_late_days=90)
    assert "40 days after its click (the window is 30 days)" in found.reason
    w["offer"].attribution_window_days = 41
    w["offer"].save(update_fields=["attribution_window_days"])
    late.refresh_from_db()
    assert check(rules.too_late, late, too_late_days=30) is None
    # ... and the workspace's window applies to a sale without an offer.
    Conversion.objects.filter(pk=late.pk).update(offer=None)
    late.refresh_from_db()
    assert "the window is 30 days" in check(rules.too_late, late, too_late_days=30).reason


def test_affiliate_mismatch_names_both_ids(workspace):
    w = world(workspace)
    other = Member.objects.create(workspace=workspace, name="Ben")
    conversion = convert(w, affiliate_id=other.affiliate_id)
    assert conversion.affiliate_mismatch
    found = check(rules.affiliate_mismatch, conversion)
    assert other.affiliate_id in found.reason and w["member"].affiliate_id in found.reason
    assert check(rules.affiliate_mismatch, convert(w)) is None


def test_duplicate_order_holds_the_later_report_from_another_connection(workspace):
    w = world(workspace)
    first = convert(w, params={"order_id": "ORD-77"})
    OrderRef.objects.create(workspace=workspace, conversion=first, ref="ORD-77")
    elsewhere = make_connection(workspace, "shareasale")
    second = convert(w, connection=elsewhere, params={"OrderId": "ORD-77"})
    found = check(rules.duplicate_order, second)
    assert found.rule == Rule.DUPLICATE_ORDER and found.evidence["other_conversion"] == str(first.code)
    assert check(rules.duplicate_order, first) is None  # the first report is not the duplicate


def test_duplicate_order_ignores_another_order_and_the_same_connection_and_source(workspace):
    w = world(workspace)
    first = convert(w, params={"order_id": "ORD-1"})
    OrderRef.objects.create(workspace=workspace, conversion=first, ref="ORD-1")
    assert check(rules.duplicate_order, convert(w, params={"order_id": "ORD-2"})) is None
    # One connection and one source reporting two sales of one order (split shipments) is not a duplicate.
    assert check(rules.duplicate_order, convert(w, params={"order_id": "ORD-1"})) is None


def test_duplicate_order_catches_a_postback_and_a_batch_record_that_did_not_match(workspace):
    w = world(workspace)
    first = convert(w, params={"order_id": "ORD-9"})
    OrderRef.objects.create(workspace=workspace, conversion=first, ref="ORD-9")
    synced = convert(w, source=ConversionSource.API_SYNC)
    # A later postback for the synced sale tells us its order id.
    from tracking.models import PostbackLog

    PostbackLog.objects.create(
        workspace=workspace,
        network="impact",
        method="GET",
        outcome="duplicate",
        conversion=synced,
        params={"order_id": "ORD-9"},
    )
    assert check(rules.duplicate_order, synced).rule == Rule.DUPLICATE_ORDER


def test_self_referral_matches_the_members_email_or_payout_account(workspace):
    w = world(workspace)
    assert check(rules.self_referral, convert(w, params={"customer_email": "Ava@Creators.test"})) is not None
    assert check(rules.self_referral, convert(w, params={"email": "ava.pay@creators.test"})) is not None
    assert check(rules.self_referral, convert(w, params={"customer_email": "shopper@mail.test"})) is None
    assert check(rules.self_referral, convert(w)) is None


def test_commission_drift_compares_the_payout_with_the_offers_terms(workspace):
    w = world(workspace)  # the offer pays 10 % of the sale
    conversion = convert(w, sale="100.00")
    assert check(rules.commission_drift, conversion, drift_percent=20) is None
    Conversion.objects.filter(pk=conversion.pk).update(member_payout=Decimal("13.00"))
    found = check(rules.commission_drift, conversion, drift_percent=20)
    assert found.evidence == {"member_payout": "13.00", "agreed": "10.00"} and "30 %" in found.reason
    assert check(rules.commission_drift, conversion, drift_percent=30) is None


def test_run_rules_runs_only_the_switched_on_rules(workspace):
    w = world(workspace)
    conversion = convert(w, after=timedelta(seconds=1), params={"customer_email": "ava@creators.test"})
    conversion = Conversion.objects.select_related("click__member", "member", "offer").get(pk=conversion.pk)
    settings = RiskSettings(workspace=workspace)
    assert {f.rule for f in rules.run_rules(facts_for(conversion), settings)} == {Rule.TOO_SOON, Rule.SELF_REFERRAL}
    settings.too_soon_on = False
    assert {f.rule for f in rules.run_rules(facts_for(conversion), settings)} == {Rule.SELF_REFERRAL}


def test_the_same_order_from_an_impact_sync_and_an_awin_sync_is_held_the_second_time(workspace):
    # The order ids come from the networks' own fields (Impact's Oid, Awin's orderRef), stored on
    # the conversion by the one conversion core: no postback needs to have carried them.
    from networks.records import NetworkRecord, to_conversion_data
    from networks.services.impact_actions import action_to_data
    from risk.models import Case
    from risk.services import evaluate_conversion
    from tracking.services import record_conversion

    impact = make_connection(workspace, "impact")
    awin = make_connection(workspace, "awin")
    action = {"Id": "19816.4404.1", "State": "PENDING", "Amount": "40.00", "Payout": "4.00", "Currency": "USD"}
    action |= {"EventDate": "2026-11-02T10:00:00-08:00", "Oid": "ORD-5501"}
    first = record_conversion(
        connection=impact, data=action_to_data(action, impact), source=ConversionSource.API_SYNC
    ).conversion
    record = NetworkRecord(
        external_id="998877",
        status="pending",
        sale_amount=Decimal("40.00"),
        payout=Decimal("3.20"),
        currency="USD",
        event_at=timezone.now(),
        order_ref="ORD-5501",
    )
    second = record_conversion(
        connection=awin, data=to_conversion_data(record), source=ConversionSource.API_SYNC
    ).conversion
    assert (first.order_ref, second.order_ref) == ("ORD-5501", "ORD-5501")
    assert evaluate_conversion(conversion=first) == []
    verdicts = evaluate_conversion(conversion=second)
    assert [v.rule for v in verdicts] == [Rule.DUPLICATE_ORDER]
    assert Case.objects.get(conversion=second).status == "held"
    assert not Case.objects.filter(conversion=first).exists()


def test_commission_drift_compares_the_network_payout_with_the_agreed_commission(workspace):
    w = world(workspace)
    conversion = convert(w, sale="100.00", payout="5.00")  # the network paid 5.00 on a 100.00 sale
    # No agreed commission on the offer: only the member payout is checked (it matches the terms).
    assert check(rules.commission_drift, conversion, drift_percent=20) is None
    w["offer"].agreed_commission_percent = Decimal("8")  # the network agreed 8 % of the sale
    w["offer"].save(update_fields=["agreed_commission_percent"])
    conversion.refresh_from_db()
    found = check(rules.commission_drift, conversion, drift_percent=20)
    assert found.evidence == {"network_payout": "5.00", "agreed_network_commission": "8.00"}
    assert "38 % off the agreed commission of 8.00" in found.reason
    assert check(rules.commission_drift, conversion, drift_percent=40) is None
    w["offer"].agreed_commission_percent, w["offer"].agreed_commission_flat = Decimal("3"), Decimal("2.00")
    w["offer"].save(update_fields=["agreed_commission_percent", "agreed_commission_flat"])
    conversion.refresh_from_db()
    assert check(rules.commission_drift, conversion, drift_percent=1) is None  # 2.00 + 3 % of 100.00
