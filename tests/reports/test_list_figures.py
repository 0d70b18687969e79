"""Clicks, conversions and earnings per row of the Members and Links lists: figures, period, sort, CSV, queries."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from offers.models import Link, Member, Offer
from reports.rollups import rebuild_rollups
from tests.reports.reportdata import at, build_report_world, make_click, make_conversion

MEMBERS = reverse("reports:member_list")
LINKS = reverse("reports:link_list")


@pytest.fixture
def world(workspace):
    w = build_report_world(workspace)
    # A second link of Ava's to the same offer: its own clicks and conversion, apart from the first link's.
    w["ava_boots_2"] = Link.objects.create(workspace=workspace, offer=w["boots"], member=w["ava"], vanity="ava-2")
    click = make_click(w["ava_boots_2"], at(3), ip="ip-2")
    make_click(w["ava_boots_2"], at(3, 13), ip="ip-3")
    make_conversion(workspace, member=w["ava"], offer=w["boots"], when=at(3, 14), click=click, payout="1234.50")
    # Test conversions ("Send test conversion") count nowhere.
    make_conversion(
        workspace, member=w["ava"], offer=w["boots"], when=at(3, 15), click=click, payout="9", source="test"
    )
    rebuild_rollups(workspace=workspace)
    return w


def figures(page, key="name") -> dict:
    return {getattr(r, key): (r.fig_clicks, r.fig_conversions, Decimal(r.fig_earnings)) for r in page.object_list}


def test_members_show_the_periods_clicks_conversions_and_earnings(alice_client, world):
    response = alice_client.get(MEMBERS)
    # Ava: 8 counted clicks (the bot and the click 40 days ago left out); approved, pending and the EUR
    # conversion count (the reversed one does not); earnings are USD only: 5.00 + 2.50 + 1,234.50.
    assert figures(response.context["page"]) == {
        "Ava": (8, 4, Decimal("1242.00")),
        "Ben": (3, 1, Decimal("1.50")),  # the conversion without a click counts for the member
        "Tess": (0, 0, Decimal("0")),
    }
    page = response.content.decode()
    assert '<td class="num">1,242.00</td>' in page
    assert "Earnings (USD)" in page
    assert "not counted (test member)" in page  # Tess's clicks are test traffic, as in reports


def test_links_count_their_own_clicks_and_the_conversions_of_those_clicks(alice_client, world):
    rows = {r.pk: r for r in alice_client.get(LINKS).context["page"].object_list}
    first, second, ben = world["ava_boots"], world["ava_boots_2"], world["ben_tents"]
    assert (rows[first.pk].fig_clicks, rows[first.pk].fig_conversions, rows[first.pk].fig_earnings) == (
        6,
        3,
        Decimal("7.50"),
    )
    assert (rows[second.pk].fig_clicks, rows[second.pk].fig_conversions) == (2, 1)
    assert rows[second.pk].fig_earnings == Decimal("1234.50")
    # Ben's only conversion came without a click: it is his (Members), not his link's.
    assert (rows[ben.pk].fig_clicks, rows[ben.pk].fig_conversions, rows[ben.pk].fig_earnings) == (3, 0, 0)


def test_the_period_selector_picks_the_days(alice_client, world):
    day = at(40).date().isoformat()
    response = alice_client.get(MEMBERS, {"start": day, "end": day})
    assert figures(response.context["page"])["Ava"] == (1, 0, Decimal("0"))
    assert f'value="{day}"' in response.content.decode()
    week = alice_client.get(LINKS, {"preset": "7d"}).context["page"].object_list
    assert {link.pk: link.fig_clicks for link in week}[world["ava_boots"].pk] == 6


def test_a_mistyped_period_is_said_next_to_its_field_and_the_list_still_shows(alice_client, world):
    response = alice_client.get(MEMBERS, {"start": "2026-12-10", "end": "2026-12-01"})
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="f-start" [^>]*aria-invalid="true"', page)
    assert "The start date must not be after the end date." in page
    assert figures(response.context["page"])["Ava"] == (8, 4, Decimal("1242.00"))  # the last 30 days


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-clicks", ["Ava", "Ben", "Tess"]),
        ("clicks", ["Tess", "Ben", "Ava"]),
        ("-earnings", ["Ava", "Ben", "Tess"]),
        ("conversions", ["Tess", "Ben", "Ava"]),
        ("-name", ["Tess", "Ben", "Ava"]),
        ("nonsense", ["Ava", "Ben", "Tess"]),  # not on the list: the default, by name
        ("-project__name", ["Ava", "Ben", "Tess"]),
    ],
)
def test_members_sort_by_each_figure(alice_client, world, sort, expected):
    page = alice_client.get(MEMBERS, {"sort": sort}).context["page"]
    assert [m.name for m in page.object_list] == expected


def test_links_sort_by_each_figure(alice_client, world):
    order = [link.pk for link in alice_client.get(LINKS, {"sort": "-earnings"}).context["page"].object_list]
    assert order[:2] == [world["ava_boots_2"].pk, world["ava_boots"].pk]
    order = [link.pk for link in alice_client.get(LINKS, {"sort": "-clicks"}).context["page"].object_list]
    assert order[:3] == [world["ava_boots"].pk, world["ben_tents"].pk, world["ava_boots_2"].pk]
    by_member = alice_client.get(LINKS, {"sort": "member"}).context["page"].object_list
    assert [link.member.name for link in by_member] == ["Ava", "Ava", "Ben", "Tess"]


def test_equal_figures_keep_a_stable_order_across_pages(alice_client, workspace):
    offer = Offer.objects.create(workspace=workspace, name="O", offer_url="https://x.test/?t={transaction_id}")
    members = [Member.objects.create(workspace=workspace, name="Same") for _ in range(55)]
    for m in members:
        Link.objects.create(workspace=workspace, offer=offer, member=m)
    for path, model in ((MEMBERS, Member), (LINKS, Link)):
        seen = []
        for number in (1, 2):
            page = alice_client.get(path, {"sort": "-clicks", "page": number}).context["page"]
            seen += [row.pk for row in page.object_list]
        # All equal: ties go by id in the sort's direction, so page 2 continues page 1 exactly.
        assert seen == sorted(model.objects.filter(workspace=workspace).values_list("pk", flat=True), reverse=True)


def test_headings_link_to_their_sort_keep_the_filters_and_mark_the_current_one(alice_client, world):
    page = alice_client.get(MEMBERS, {"sort": "-clicks", "q": "a", "page": "1", "preset": "7d"}).content.decode()
    heading = re.search(r'<th scope="col" class="sortable num" aria-sort="descending"><a href="\?([^"]+)">Clicks', page)
    assert heading, "the sorted column says so to screen readers"
    assert 'Clicks <span aria-hidden="true">▼</span>' in page
    query = heading.group(1).replace("&amp;", "&")
    assert "sort=clicks" in query and "q=a" in query and "preset=7d" in query and "page=" not in query
    # Other figures sort descending on their first click.
    earnings = r'<th scope="col" class="sortable num"><a href="\?[^"]*sort=-earnings[^"]*">Earnings \(USD\)</a>'
    assert re.search(earnings, page)
    assert re.search(r'<th scope="col" class="sortable"><a href="\?[^"]*sort=name[^"]*">Name</a>', page)
    assert page.count("aria-sort=") == 1
    # The filter form carries the sort, so filtering keeps it.
    assert '<input type="hidden" name="sort" value="-clicks">' in page


def test_pages_keep_the_sort_and_the_period(alice_client, workspace):
    offer = Offer.objects.create(workspace=workspace, name="O", offer_url="https://x.test/?t={transaction_id}")
    for i in range(55):
        Link.objects.create(
            workspace=workspace, offer=offer, member=Member.objects.create(workspace=workspace, name=f"M{i}")
        )
    page = alice_client.get(LINKS, {"sort": "-clicks", "preset": "90d"}).content.decode()
    next_link = re.search(r'<a href="\?([^"]*page=2[^"]*)">Next', page).group(1).replace("&amp;", "&")
    assert "sort=-clicks" in next_link and "preset=90d" in next_link


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_csv_exports_carry_the_same_figures_in_the_same_order(alice_client, world):
    response = alice_client.get(reverse("reports:export_members"), {"sort": "-clicks"})
    rows = read_csv(response)
    assert [(r["name"], r["clicks"], r["conversions"], r["earnings"], r["currency"]) for r in rows] == [
        ("Ava", "8", "4", "1242.00", "USD"),
        ("Ben", "3", "1", "1.50", "USD"),
        ("Tess", "0", "0", "0.00", "USD"),
    ]
    day = at(40).date().isoformat()
    assert (
        f"members-{day}-{day}.csv"
        in alice_client.get(reverse("reports:export_members"), {"start": day, "end": day})["Content-Disposition"]
    )
    links = read_csv(alice_client.get(reverse("reports:export_links"), {"sort": "-earnings"}))
    assert [(r["code"], r["clicks"], r["conversions"], r["earnings"]) for r in links] == [
        (world["ava_boots_2"].code, "2", "1", "1234.50"),
        (world["ava_boots"].code, "6", "3", "7.50"),
        (world["tess_boots"].code, "0", "0", "0.00"),  # a test member's link counts nothing
        (world["ben_tents"].code, "3", "0", "0.00"),  # equal earnings: the newer link first
    ]


def test_another_workspaces_rows_count_nothing(charlie_client, other_workspace, world):
    # Charlie's member shares nothing with alice's world; the figures are read inside charlie's workspace.
    Member.objects.create(workspace=other_workspace, name="Cara")
    page = charlie_client.get(MEMBERS).context["page"]
    assert figures(page) == {"Cara": (0, 0, Decimal("0"))}


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, {"sort": "-clicks"}).status_code == 200
    return len(ctx.captured_queries)


def add_members_with_traffic(workspace, offer, n: int, start: int):
    for i in range(start, start + n):
        link = Link.objects.create(
            workspace=workspace, offer=offer, member=Member.objects.create(workspace=workspace, name=f"M{i}")
        )
        click = make_click(link, at(1), ip=f"ip-{i}")
        make_conversion(workspace, member=link.member, offer=offer, when=at(1, 13), click=click, payout="1.00")


def test_the_figures_take_one_query_however_many_rows_a_page_has(alice_client, workspace):
    offer = Offer.objects.create(workspace=workspace, name="O", offer_url="https://x.test/?t={transaction_id}")
    add_members_with_traffic(workspace, offer, 2, 0)
    rebuild_rollups(workspace=workspace)
    alice_client.get(MEMBERS)  # the session's first page also reads the person's time zone, once
    alice_client.get(LINKS)  # and the workspace's primary tracking domain, remembered for 30 s
    small = {path: count_queries(alice_client, path) for path in (MEMBERS, LINKS)}
    add_members_with_traffic(workspace, offer, 30, 2)
    rebuild_rollups(workspace=workspace)
    large = {path: count_queries(alice_client, path) for path in (MEMBERS, LINKS)}
    assert large == small
    rows = alice_client.get(MEMBERS).context["page"].object_list
    assert len(rows) == 32 and all(m.fig_clicks == 1 and m.fig_conversions == 1 for m in rows)
