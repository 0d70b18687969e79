"""Home: this month's figures against last month's, the chart, and the next expected payment."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from offers.models import NetworkConnection
from payments.models import Settlement, SettlementLine
from portal import selectors
from tests.portal.helpers import member_rows, sign_in_as
from tracking.models import Click, Conversion


def at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()) + timedelta(hours=12))


def approved(member, conn, *, tag, payout, locking: date):
    return Conversion.objects.create(
        workspace=member.workspace,
        connection=conn,
        network=conn.kind,
        dedupe_key=f"tid:{tag}",
        transaction_id=tag,
        member=member,
        source="postback",
        currency="USD",
        status="approved",
        member_payout=Decimal(payout),
        network_payout=Decimal(payout) * 2,
        locking_at=at(locking),
    )


def test_home_shows_this_months_figures_and_the_change(client, ava, ben):
    rows = member_rows(ava.member)
    today = timezone.localdate()
    last_month = today.replace(day=1) - timedelta(days=1)
    # Two clicks this month (one from member_rows), one last month, one bot (not counted).
    Click.objects.create(
        workspace=ava.workspace, transaction_id="t2", link=rows["link"], offer=rows["offer"], member=ava.member
    )
    Click.objects.create(
        workspace=ava.workspace,
        transaction_id="t3",
        link=rows["link"],
        offer=rows["offer"],
        member=ava.member,
        created_at=at(last_month),
    )
    Click.objects.create(
        workspace=ava.workspace,
        transaction_id="t4",
        link=rows["link"],
        offer=rows["offer"],
        member=ava.member,
        is_bot=True,
    )
    member_rows(ben.member, tag="ben")  # Ben's figures never count for Ava
    figures = selectors.home_figures(member=ava.member, today=today)
    assert figures["this"]["clicks"] == 2 and figures["last"]["clicks"] == 1
    assert figures["changes"]["clicks"] == {"pct": 100, "up": True}
    assert figures["this"]["pending"] == Decimal("10.00")
    assert figures["this"]["paid"] == Decimal("5.00")

    sign_in_as(client, ava)
    page = client.get(reverse("portal:home")).content.decode()
    assert "+100% vs last month" in page
    assert 'data-figure="pending">10.00<' in page
    chart = json.loads(client.get(reverse("portal:home")).context["chart"])
    assert sum(chart["data"]["datasets"][0]["data"]) == 2


def test_next_payment_follows_locking_dates_pay_dates_and_the_crediting_delay(ava):
    ws = ava.workspace
    ws.crediting_delay_days, ws.holiday_country = 3, ""
    ws.save(update_fields=["crediting_delay_days", "holiday_country"])
    impact = NetworkConnection.objects.create(workspace=ws, kind="impact", label="Impact", settlement_day=1)
    sas = NetworkConnection.objects.create(workspace=ws, kind="shareasale", label="SAS", settlement_day=20)
    today = date(2027, 1, 15)
    # Impact pays on 1 Feb for actions locked before it; credited 3 business days later: Thu 4 Feb.
    approved(ava.member, impact, tag="i1", payout="12.00", locking=date(2027, 1, 10))
    approved(ava.member, impact, tag="i2", payout="3.00", locking=date(2027, 1, 31))
    # ShareASale pays on 20 Feb (a Saturday) for January: credited Wed 24 Feb.
    approved(ava.member, sas, tag="s1", payout="40.00", locking=date(2027, 1, 10))
    expected = selectors.next_expected_payment(member=ava.member, today=today)
    assert (expected.on, expected.amount, expected.conversions) == (date(2027, 2, 4), Decimal("15.00"), 2)

    # Once the network has paid (received), the settlement's own crediting date counts.
    settlement = Settlement.objects.create(
        workspace=ws,
        connection=impact,
        currency="USD",
        cut_off=at(date(2027, 1, 1)),
        expected_on=date(2027, 1, 1),
        status="received",
        credit_due_on=date(2027, 1, 20),
    )
    early = approved(ava.member, impact, tag="i0", payout="7.00", locking=date(2026, 12, 20))
    SettlementLine.objects.create(workspace=ws, settlement=settlement, conversion=early, amount=Decimal("14.00"))
    expected = selectors.next_expected_payment(member=ava.member, today=today)
    assert (expected.on, expected.amount) == (date(2027, 1, 20), Decimal("7.00"))

    # Credited: that money is in the brand's balance, no longer expected.
    Settlement.objects.filter(pk=settlement.pk).update(status="credited")
    assert selectors.next_expected_payment(member=ava.member, today=today).on == date(2027, 2, 4)


def test_the_ledger_pay_date_rule_is_the_settlements_rule():
    # Impact: locked 31 Jan is paid on 1 Feb; locked 1 Feb waits for 1 Mar.
    assert selectors.network_pay_date(
        kind="impact", settlement_day=1, locked=date(2027, 1, 31), today=date(2027, 1, 5)
    ) == date(2027, 2, 1)
    assert selectors.network_pay_date(
        kind="impact", settlement_day=1, locked=date(2027, 2, 1), today=date(2027, 1, 5)
    ) == date(2027, 3, 1)
    # Awin (15th, previous month): locked 3 Jan is paid 15 Feb, not 15 Jan.
    assert selectors.network_pay_date(
        kind="awin", settlement_day=15, locked=date(2027, 1, 3), today=date(2027, 1, 5)
    ) == date(2027, 2, 15)


def test_home_says_when_the_next_payment_is_expected(client, ava, ben):
    conn = NetworkConnection.objects.create(workspace=ava.workspace, kind="impact", label="Impact")
    approved(ava.member, conn, tag="a1", payout="25.50", locking=timezone.localdate() - timedelta(days=2))
    approved(ben.member, conn, tag="b1", payout="99.00", locking=timezone.localdate() - timedelta(days=2))
    sign_in_as(client, ava)
    page = client.get(reverse("portal:home")).content.decode()
    expected = selectors.next_expected_payment(member=ava.member, today=timezone.localdate())
    assert f"expected around <strong>{expected.on.day} {expected.on:%b}</strong>" in page
    assert "25.50 USD" in page and "99.00" not in page


def test_home_has_helpful_empty_states(client, ava):
    sign_in_as(client, ava)
    page = client.get(reverse("portal:home")).content.decode()
    assert "No clicks yet this month" in page and "Nothing approved is waiting" in page
