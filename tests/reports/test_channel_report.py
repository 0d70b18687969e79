"""Conversions by link vs code: each member's conversions split by what attributed them."""

from decimal import Decimal

import pytest

from reports.attribution_specs import conversions_by_channel
from reports.filters import default_filters
from reports.rollups import rebuild_rollups
from tests.reports.reportdata import at, build_report_world, make_conversion
from tests.reports.test_report_pages import read_csv, rows_by_name
from tracking.models import Conversion


@pytest.fixture
def world(workspace):
    w = build_report_world(workspace)
    ben = w["ben"]
    code_sale = make_conversion(workspace, member=ben, offer=w["tents"], when=at(1, 15), sale="40.00")
    Conversion.objects.filter(pk=code_sale.pk).update(attributed_by="code", promo_code="BEN20")
    rebuild_rollups(workspace=workspace)
    return w


def test_it_splits_each_members_conversions_by_link_and_code(alice_client, workspace, world):
    response = alice_client.get("/reports/channels/")
    assert response.status_code == 200
    assert set(rows_by_name(response)) == {"Ava", "Ben"}  # test members never appear
    rows = {r["name"]: r for r in conversions_by_channel(workspace, default_filters(workspace))}
    ava, ben = rows["Ava"], rows["Ben"]
    # Ava: the approved and pending sales came through her link (the EUR one too); none by code.
    assert (ava["link_conversions"], ava["code_conversions"], ava["conversions"]) == (3, 0, 3)
    assert ava["link_sales"] == Decimal("150.00")
    # Ben: one sale without a click (stored before conversions kept their channel: the affiliate id) and one by code.
    assert (ben["link_conversions"], ben["code_conversions"], ben["member_conversions"]) == (0, 1, 1)
    assert ben["code_sales"] == Decimal("40.00") and ben["code_share"] == Decimal("50.0")


def test_its_csv_has_every_member(alice_client, world):
    body = read_csv(alice_client.get("/reports/channels/", {"format": "csv"}))
    header, rows = body[0], body[1:]
    assert header[:3] == ["member", "member_code", "link_conversions"]
    assert sorted(r[0] for r in rows) == ["Ava", "Ben"]


def test_it_shows_only_the_workspaces_conversions(charlie_client, world):
    response = charlie_client.get("/reports/channels/")
    assert response.status_code == 200
    assert not response.context["rows"]
