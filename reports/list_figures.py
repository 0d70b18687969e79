"""Clicks, conversions and earnings on each row of the Members and Links lists, for a range of days.

The figures follow the reports' definitions (README "Definitions"): counted (non-bot) clicks on their click
day; conversions pending or approved on their event day, in any currency; earnings are the member payout of
those conversions in the workspace's currency. Test members and test conversions count nothing.

Members read the rollups' member rows. Links read raw rows, because the rollups stop at offer and member and
a member may have several links to one offer: a link counts its own clicks and the conversions of those
clicks (a conversion a network attributed without a click counts for its member, not for a link).

Each figure is a correlated subquery annotated on the list's queryset, so a page is one query however many
rows it shows, and sorting by a figure happens in SQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Func, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from offers.models import Link, Member
from reports.filters import COUNTED_STATUSES
from reports.models import DailyRollup
from tracking.models import Click, Conversion
from workspaces.dates import day_bounds
from workspaces.models import Workspace

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
FIGURES = ("clicks", "conversions", "earnings")

# What ?sort= may name on each list (a leading "-" sorts descending), and the field it orders by.
MEMBER_SORTS = {
    "name": "name",
    "clicks": "fig_clicks",
    "conversions": "fig_conversions",
    "earnings": "fig_earnings",
}
LINK_SORTS = {
    "created": "created_at",
    "member": "member__name",
    "offer": "offer__name",
    "clicks": "fig_clicks",
    "conversions": "fig_conversions",
    "earnings": "fig_earnings",
}


def _total(rows: QuerySet, function: str, field: str, output_field):
    """``function`` (SUM or COUNT) of ``field`` over ``rows`` (narrowed to one outer row) as a scalar subquery.

    A plain Func, not an aggregate, so the subquery has no GROUP BY and always answers one row.
    """
    total = rows.order_by().annotate(total=Func(F(field), function=function, output_field=output_field))
    empty = ZERO if output_field is MONEY else 0
    return Coalesce(Subquery(total.values("total")[:1], output_field=output_field), Value(empty))


def members_with_figures(members: QuerySet[Member], *, workspace: Workspace, start: date, end: date):
    """``members`` annotated with ``fig_clicks``, ``fig_conversions`` and ``fig_earnings`` for ``start``..``end``."""
    rows = DailyRollup.objects.filter(
        workspace=workspace, grain="member", member=OuterRef("pk"), day__gte=start, day__lte=end
    )
    conversions = rows.filter(status__in=COUNTED_STATUSES)
    return members.annotate(
        fig_clicks=_total(rows.filter(status=""), "SUM", "clicks", IntegerField()),
        fig_conversions=_total(conversions, "SUM", "conversions", IntegerField()),
        fig_earnings=_total(conversions.filter(currency=workspace.currency), "SUM", "member_payout", MONEY),
    )


def links_with_figures(links: QuerySet[Link], *, workspace: Workspace, start: date, end: date):
    """``links`` annotated with ``fig_clicks``, ``fig_conversions`` and ``fig_earnings`` for ``start``..``end``."""
    lo, hi = day_bounds(start, end)
    # A link's clicks are its member's (links never change member), so naming the member lets the
    # (member, created_at) index find the range instead of reading every click the link ever had.
    clicks = Click.objects.filter(
        link=OuterRef("pk"), member=OuterRef("member_id"), created_at__gte=lo, created_at__lt=hi, is_bot=False
    )
    conversions = Conversion.objects.filter(
        click__link=OuterRef("pk"),
        member=OuterRef("member_id"),
        status__in=COUNTED_STATUSES,
        event_at__gte=lo,
        event_at__lt=hi,
    ).exclude(source="test")
    test_member = When(member__is_test=True, then=Value(0))
    return links.annotate(
        fig_clicks=Case(test_member, default=_total(clicks, "COUNT", "id", IntegerField())),
        fig_conversions=Case(test_member, default=_total(conversions, "COUNT", "id", IntegerField())),
        fig_earnings=Case(
            When(member__is_test=True, then=Value(ZERO)),
            default=_total(conversions.filter(currency=workspace.currency), "SUM", "member_payout", MONEY),
            output_field=MONEY,
        ),
    )


def parse_sort(value: str | None, sorts: dict[str, str], default: str) -> str:
    """``value`` ("name" or "-name") when ``sorts`` has the name, else ``default``."""
    value = value or default
    return value if value.lstrip("-") in sorts else default


def order_by_sort(qs: QuerySet, sort: str, sorts: dict[str, str]) -> QuerySet:
    """``qs`` ordered by a parsed ``sort``, ties broken by id in the same direction so pages never overlap."""
    field = sorts[sort.lstrip("-")]
    if sort.startswith("-"):
        return qs.order_by(F(field).desc(), "-id")
    return qs.order_by(F(field).asc(), "id")
