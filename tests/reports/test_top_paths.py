"""Top paths: the visitor's earlier clicks before each conversion, grouped; credit stays last-click."""

from datetime import timedelta
from decimal import Decimal

import pytest

from offers.models import Link, Member, Offer
from reports.filters import default_filters
from reports.paths import top_paths
from tests.reports.reportdata import at, make_click, make_conversion
from tests.reports.test_report_pages import read_csv, rows_by_name


@pytest.fixture
def world(workspace):
    offer = Offer.objects.create(workspace=workspace, name="Boots", offer_url="https://shop.test/?t={transaction_id}")
    ava, ben, cy = (Member.objects.create(workspace=workspace, name=n) for n in ("Ava", "Ben", "Cy"))
    links = {m.name: Link.objects.create(workspace=workspace, offer=offer, member=m) for m in (ava, ben, cy)}

    def sale(visitor, touches, amount, hours_after_last=1):
        """Clicks on the named members' links (hours apart, ending 3 days ago), then a sale on the last one."""
        first = at(3) - timedelta(hours=len(touches))
        click = None
        for i, name in enumerate(touches):
            click = make_click(links[name], first + timedelta(hours=i), ip=visitor)
        member = click.member
        make_conversion(
            workspace,
            member=member,
            offer=offer,
            click=click,
            when=click.created_at + timedelta(hours=hours_after_last),
            sale=amount,
        )

    sale("v1", ["Ava", "Ben"], "100.00")
    sale("v2", ["Ava", "Ava", "Ben"], "50.00")  # two clicks on Ava's link are one touchpoint
    sale("v3", ["Ben"], "20.00")
    sale("v4", ["Cy", "Ava", "Ben"], "10.00")
    # A bot click and a click 40 days earlier never join a path.
    make_click(links["Cy"], at(3) - timedelta(hours=5), ip="v3", bot=True)
    make_click(links["Cy"], at(45), ip="v3")
    return {"ava": ava, "ben": ben, "cy": cy}


def test_it_groups_conversions_into_paths_with_sales_and_time(workspace, world):
    result = top_paths(workspace, default_filters(workspace))
    rows = {r["name"]: r for r in result["rows"]}
    assert list(rows) == ["Ava → Ben", "Ben", "Cy → Ava → Ben"]  # by conversions, then shorter first
    both = rows["Ava → Ben"]
    assert (both["conversions"], both["sales"], both["touchpoints"], both["others"], both["credited"]) == (
        2,
        Decimal("150.00"),
        2,
        1,
        "Ben",
    )
    # v1: first touch 1 h before the last click, sale 1 h after it (2 h); v2: 2 h before + 1 h (3 h).
    assert both["hours"] == Decimal("2.5")
    assert rows["Ben"]["hours"] == Decimal("1.0") and rows["Ben"]["others"] == 0
    assert result["conversions"] == 4 and not result["capped"]


@pytest.mark.parametrize("window, v3_path", [(30, "Ben"), (60, "Cy → Ben")])
def test_the_offers_attribution_window_decides_how_far_back_a_path_reaches(workspace, world, window, v3_path):
    # v3 clicked Cy's link 45 days ago, then Ben's: inside a 60-day window, outside a 30-day one.
    Offer.objects.filter(workspace=workspace).update(attribution_window_days=window)
    names = [r["name"] for r in top_paths(workspace, default_filters(workspace))["rows"]]
    assert v3_path in names and names.count("Ben") == (1 if window == 30 else 0)


@pytest.mark.postgres
def test_postgres_groups_the_paths_as_the_python_rule_does(workspace, world):
    from reports.paths import _conversions, _groups_in_python, _groups_in_sql

    f = default_filters(workspace)
    conversions = _conversions(workspace, f)

    def by_path(groups):
        return {g["path"]: (g["conversions"], g["sales"], round(g["seconds"])) for g in groups}

    in_sql = by_path(_groups_in_sql(workspace, f, conversions))
    assert in_sql == by_path(_groups_in_python(workspace, f, conversions))
    assert len(in_sql) == 3
    Offer.objects.filter(workspace=workspace).update(attribution_window_days=60)
    assert by_path(_groups_in_sql(workspace, f, conversions)) == by_path(_groups_in_python(workspace, f, conversions))


def test_the_page_and_its_csv(alice_client, world):
    response = alice_client.get("/reports/paths/")
    assert response.status_code == 200
    assert set(rows_by_name(response)) == {"Ava → Ben", "Ben", "Cy → Ava → Ben"}
    body = read_csv(alice_client.get("/reports/paths/", {"format": "csv"}))
    assert body[0][:3] == ["path", "touchpoints", "other_members"]
    assert len(body) == 4


def test_another_workspace_sees_no_paths(charlie_client, world):
    assert not charlie_client.get("/reports/paths/").context["rows"]
