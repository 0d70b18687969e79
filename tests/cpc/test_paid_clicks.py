"""Paid clicks: the daily cap, member rates, one balanced ledger entry per member and day, the page."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cpc import services
from cpc.models import ClickRate, PaidClickDay
from offers.models import Link, Member
from payments.models import AccountKind, Entry, LedgerTransaction
from tests.conftest import set_role
from tests.payments.helpers import balance, payable
from tests.tracking.test_redirect import hit, make_link
from tracking.clicks import buffer
from tracking.models import Click

D = Decimal


@pytest.fixture
def link(workspace):
    return make_link(workspace)


@pytest.fixture
def yesterday():
    return timezone.localdate() - timedelta(days=1)


def clicks(link, n, *, when, **kw):
    for i in range(n):
        Click.objects.create(
            workspace=link.workspace,
            transaction_id=f"t{link.pk}-{when}-{i}-{kw}",
            link=link,
            offer=link.offer,
            member=link.member,
            created_at=timezone.make_aware(timezone.datetime.combine(when, timezone.datetime.min.time()))
            + timedelta(hours=9),
            is_unique=kw.get("is_unique", True),
            is_bot=kw.get("is_bot", False),
            offer_state=kw.get("offer_state", "active"),
        )


def test_counted_clicks_earn_the_rate_up_to_the_daily_cap(link, yesterday, workspace):
    services.set_click_rate(offer=link.offer, member=None, rate=D("0.05"), daily_cap=100)
    clicks(link, 130, when=yesterday)
    clicks(link, 4, when=yesterday, is_bot=True)  # bots, repeats and clicks on a paused offer never count
    clicks(link, 3, when=yesterday, is_unique=False)
    clicks(link, 2, when=yesterday, offer_state="paused")
    clicks(link, 9, when=yesterday - timedelta(days=1))  # another day
    assert services.post_paid_clicks(workspace=workspace, day=yesterday) == 1
    day = PaidClickDay.objects.get()
    assert (day.counted_clicks, day.paid_clicks, day.rate, day.amount) == (130, 100, D("0.0500"), D("5.00"))
    assert payable(workspace, link.member) == D("5.00")
    assert balance(workspace, AccountKind.EXPENSE) == D("5.00")


def test_a_day_posts_once_as_one_balanced_entry_per_member(link, yesterday, workspace):
    other_offer_link = make_link(workspace)
    Link.objects.filter(pk=other_offer_link.pk).update(member=link.member)
    other_offer_link.refresh_from_db()
    services.set_click_rate(offer=link.offer, member=None, rate=D("0.10"), daily_cap=5)
    services.set_click_rate(offer=other_offer_link.offer, member=None, rate=D("0.025"), daily_cap=50)
    clicks(link, 7, when=yesterday)
    clicks(other_offer_link, 3, when=yesterday)
    assert services.post_paid_clicks(workspace=workspace, day=yesterday) == 1
    assert services.post_paid_clicks(workspace=workspace, day=yesterday) == 0  # a repeat posts nothing
    txn = LedgerTransaction.objects.get(kind="paid_clicks")
    entries = Entry.objects.filter(transaction=txn)
    assert sum(e.amount for e in entries) == 0
    # 5 paid x 0.10 + 3 x 0.025 = 0.575 -> 0.50 + 0.08 (each offer's amount in cents)
    assert payable(workspace, link.member) == D("0.58")
    assert "8 paid clicks" in txn.memo


def test_a_members_rate_replaces_the_offers(link, yesterday, workspace):
    other = Member.objects.create(workspace=workspace, name="Noor")
    noor_link = Link.objects.create(workspace=workspace, offer=link.offer, member=other)
    services.set_click_rate(offer=link.offer, member=None, rate=D("0.05"), daily_cap=10)
    services.set_click_rate(offer=link.offer, member=other, rate=D("0.20"), daily_cap=2)
    clicks(link, 4, when=yesterday)
    clicks(noor_link, 4, when=yesterday)
    services.post_paid_clicks(workspace=workspace, day=yesterday)
    assert payable(workspace, link.member) == D("0.20")
    assert payable(workspace, other) == D("0.40")


def test_test_members_and_unfinished_days_are_not_paid(link, workspace, yesterday):
    Member.objects.filter(pk=link.member_id).update(is_test=True)
    services.set_click_rate(offer=link.offer, member=None, rate=D("1"), daily_cap=10)
    clicks(link, 3, when=yesterday)
    assert services.post_paid_clicks(workspace=workspace, day=yesterday) == 0
    with pytest.raises(Exception, match="finished day"):
        services.post_paid_clicks(workspace=workspace, day=timezone.localdate())


@pytest.mark.redis
def test_the_cap_counts_clicks_that_were_still_in_the_click_buffer(client, settings, monkeypatch, link, workspace):
    settings.CLICK_BUFFER = "redis"
    settings.TRUSTED_PROXY_COUNT = 0
    monkeypatch.setattr(buffer, "_buffer_down_until", 0.0)
    services.set_click_rate(offer=link.offer, member=None, rate=D("0.50"), daily_cap=3)
    for i in range(5):  # five visitors: five unique clicks, all waiting in Redis
        assert hit(client, link, ip=f"198.51.100.{i + 1}").status_code == 302
    hit(client, link, ip="198.51.100.1")  # a repeat visitor: not unique
    assert Click.objects.count() == 0 and buffer.buffered_click_count() == 6
    today = timezone.localdate()
    assert services.post_paid_clicks_all_workspaces(day=today, today=today + timedelta(days=1)) == 1
    day = PaidClickDay.objects.get()
    assert (day.counted_clicks, day.paid_clicks, day.amount) == (5, 3, D("1.50"))
    assert payable(workspace, link.member) == D("1.50")


def test_the_page_sets_rates_and_shows_payable_clicks_with_a_csv(alice_client, link, workspace, yesterday):
    response = alice_client.post(
        reverse("cpc:set_click_rate"), {"offer": str(link.offer.code), "member": "", "rate": "0.05", "daily_cap": "2"}
    )
    assert response.status_code == 302
    clicks(link, 3, when=yesterday)
    services.post_paid_clicks(workspace=workspace, day=yesterday)
    page = alice_client.get(reverse("cpc:paid_clicks")).content.decode()
    assert 'id="payable-clicks"' in page and "(cap 2)" in page
    export = alice_client.get(reverse("cpc:paid_clicks"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["day", "member", "affiliate_id", "offer", "counted_clicks"]
    assert rows[1][4:6] == ["3", "2"] and rows[1][8] == "0.10"


def test_a_bad_rate_is_refused_next_to_the_field(alice_client, link):
    response = alice_client.post(
        reverse("cpc:set_click_rate"), {"offer": str(link.offer.code), "rate": "-1", "daily_cap": "0"}
    )
    assert response.status_code == 400
    assert not ClickRate.objects.exists()


def test_it_requires_write_access(bob_client, bob, workspace, link):
    rate = services.set_click_rate(offer=link.offer, member=None, rate=D("0.05"), daily_cap=2)
    remove = reverse("cpc:remove_click_rate", kwargs={"code": rate.code})
    set_role(bob, workspace, "viewer")
    assert bob_client.post(remove).status_code == 403
    assert bob_client.post(reverse("cpc:set_click_rate"), {}).status_code == 403


def test_another_workspace_sees_nothing(charlie_client, link, yesterday, workspace):
    rate = services.set_click_rate(offer=link.offer, member=None, rate=D("0.05"), daily_cap=2)
    clicks(link, 3, when=yesterday)
    services.post_paid_clicks(workspace=workspace, day=yesterday)
    assert charlie_client.post(reverse("cpc:remove_click_rate", kwargs={"code": rate.code})).status_code == 404
    page = charlie_client.get(reverse("cpc:paid_clicks")).content.decode()
    assert 'id="payable-clicks"' not in page
    post = {"offer": str(link.offer.code), "rate": "1", "daily_cap": "1"}
    assert charlie_client.post(reverse("cpc:set_click_rate"), post).status_code == 400  # no such offer here
    assert ClickRate.objects.count() == 1
