from datetime import date
from decimal import Decimal

from reports.filters import ReportFilters, default_filters
from reports.rollups import rebuild_rollups
from reports.selectors import rollup_grain, summary
from tests.reports.reportdata import at, build_report_world, make_conversion


def test_reports_pick_the_coarsest_grain():
    f = ReportFilters(start=date(2026, 1, 1), end=date(2026, 1, 2), currency="USD")
    marker = object()
    assert rollup_grain(f) == "total"
    assert rollup_grain(f, "member") == "member"
    assert rollup_grain(f.__class__(**{**f.__dict__, "project": marker}), "member") == "member"
    assert rollup_grain(f, "offer") == "offer"
    assert rollup_grain(f.__class__(**{**f.__dict__, "connection": marker}), "offer") == "offer"
    assert rollup_grain(f.__class__(**{**f.__dict__, "offer": marker}), "member") == "link"


def test_money_is_exact(workspace):
    world = build_report_world(workspace)
    make_conversion(workspace, member=world["ava"], offer=world["boots"], when=at(1), sale="0.10", payout="0.10")
    make_conversion(workspace, member=world["ava"], offer=world["boots"], when=at(1), sale="0.20", payout="0.20")
    rebuild_rollups(workspace=workspace)
    s = summary(workspace, default_filters(workspace))
    assert s["sales"] == Decimal("180.30")
    assert s["member_payout"] == Decimal("9.30")
