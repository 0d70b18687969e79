"""Reads of the member portal. Every function starts from one member."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from offers.models import Link, Member
from payments import lib as pay_lib
from payments.models import ZERO, Account, AccountKind, Payment, Settlement
from payments.selectors import SENT
from portal.models import PortalSettings, TaxForm
from tracking.models import Click, Conversion, ConversionSource, ConversionStatus


def tax_form_required(*, member: Member) -> bool:
    return PortalSettings.objects.filter(workspace_id=member.workspace_id, require_tax_form=True).exists()


def tax_form_block(member: Member) -> str:
    """Make a Payment's reason not to pay ``member``: the brand requires a tax form and there is none
    (one query per member)."""
    missing = PortalSettings.objects.filter(workspace_id=member.workspace_id, require_tax_form=True).filter(
        ~Exists(TaxForm.objects.filter(member=member))
    )
    if missing.exists():
        return "No tax form on file (this brand requires one before paying)."
    return ""


def month_bounds(day: date) -> tuple[datetime, datetime]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return pay_start(start, tz), pay_start(end, tz)


def pay_start(day: date, tz) -> datetime:
    return pay_lib.start_of_day(day, tz)


def _conversions(member: Member):
    return Conversion.objects.filter(workspace_id=member.workspace_id, member=member).exclude(
        source=ConversionSource.TEST
    )


def month_figures(*, member: Member, day: date) -> dict:
    """Clicks, conversions and earnings by status of the calendar month holding ``day``."""
    start, end = month_bounds(day)
    clicks = Click.objects.filter(
        workspace_id=member.workspace_id, member=member, created_at__gte=start, created_at__lt=end, is_bot=False
    ).count()
    convs = _conversions(member).filter(event_at__gte=start, event_at__lt=end)
    by_status = convs.aggregate(
        n=Count("id", filter=~Q(status=ConversionStatus.REJECTED)),
        pending=Sum("member_payout", filter=Q(status=ConversionStatus.PENDING)),
        approved=Sum("member_payout", filter=Q(status=ConversionStatus.APPROVED)),
    )
    paid = Payment.objects.filter(
        workspace_id=member.workspace_id, member=member, status__in=SENT, created_at__gte=start, created_at__lt=end
    ).aggregate(t=Sum("amount"))["t"]
    return {
        "clicks": clicks,
        "conversions": by_status["n"],
        "pending": by_status["pending"] or ZERO,
        "approved": by_status["approved"] or ZERO,
        "paid": paid or ZERO,
    }


def payable_now(*, member: Member) -> Decimal:
    """What the brand owes the member today (their payable balance), in the workspace currency."""
    account = Account.objects.filter(
        workspace_id=member.workspace_id,
        kind=AccountKind.PAYABLE,
        member=member,
        currency=member.workspace.currency,
    ).first()
    return -account.balance if account else ZERO


def change(now, before) -> dict:
    """The change of a figure against last month, for the "+12% vs last month" line."""
    if not before:
        return {"pct": None, "up": bool(now)}
    pct = (Decimal(now) - Decimal(before)) * 100 / Decimal(before)
    return {"pct": int(pct.quantize(Decimal("1"))), "up": pct >= 0}


def home_figures(*, member: Member, today: date) -> dict:
    this = month_figures(member=member, day=today)
    last = month_figures(member=member, day=today.replace(day=1) - timedelta(days=1))
    this["payable"] = payable_now(member=member)
    changes = {k: change(this[k], last[k]) for k in ("clicks", "conversions", "pending", "approved", "paid")}
    return {"this": this, "last": last, "changes": changes}


def daily_chart(*, member: Member, today: date) -> dict:
    """A Chart.js config of clicks and conversions per day of this month."""
    start, end = month_bounds(today)
    tz = timezone.get_current_timezone()
    clicks = dict(
        Click.objects.filter(
            workspace_id=member.workspace_id, member=member, created_at__gte=start, created_at__lt=end, is_bot=False
        )
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    convs = dict(
        _conversions(member)
        .filter(event_at__gte=start, event_at__lt=end)
        .exclude(status=ConversionStatus.REJECTED)
        .annotate(day=TruncDate("event_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    days = [today.replace(day=d) for d in range(1, today.day + 1)]
    return {
        "type": "bar",
        "data": {
            "labels": [d.strftime("%d %b") for d in days],
            "datasets": [
                {"type": "bar", "label": "Clicks", "data": [clicks.get(d, 0) for d in days], "yAxisID": "y"},
                {"type": "line", "label": "Conversions", "data": [convs.get(d, 0) for d in days], "yAxisID": "y1"},
            ],
        },
        "options": {
            "scales": {
                "y": {"beginAtZero": True, "position": "left"},
                "y1": {"beginAtZero": True, "position": "right", "grid": {"drawOnChartArea": False}},
            }
        },
    }


@dataclass
class ExpectedPayment:
    on: date
    amount: Decimal
    currency: str
    conversions: int


def network_pay_date(*, kind: str, settlement_day: int, locked: date, today: date) -> date:
    """The first pay date from today on whose settlement covers a conversion locked on ``locked``
    (the same rule the nightly settlements follow: locked before the pay date's cut-off)."""
    pay = pay_lib.next_pay_date(max(today, locked + timedelta(days=1)), settlement_day)
    while locked >= pay_lib.settlement_cut_off(kind, pay):
        pay = pay_lib.next_pay_date(pay + timedelta(days=1), settlement_day)
    return pay


def next_expected_payment(*, member: Member, today: date) -> ExpectedPayment | None:
    """When the member's approved earnings not yet in the brand's balance should be payable, and how much.

    Each approved conversion becomes payable once the network has paid the brand for it
    and the crediting delay has passed: a received settlement is credited on its due date;
    an expected one (or a conversion in none yet) is paid on the network's pay date for its
    locking date, then credited ``crediting_delay_days`` business days later. The earliest
    such date, with everything falling due then, is the next expected payment.
    """
    ws = member.workspace
    convs = (
        _conversions(member)
        .filter(status=ConversionStatus.APPROVED, currency=ws.currency, member_payout__gt=0)
        .exclude(settlement_line__settlement__status=Settlement.Status.CREDITED)
        .select_related("connection", "settlement_line__settlement")
    )
    due: dict[date, list[Decimal]] = {}
    for conv in convs:
        line = getattr(conv, "settlement_line", None)
        settlement = line.settlement if line else None
        if settlement is not None and settlement.status == Settlement.Status.RECEIVED and settlement.credit_due_on:
            on = settlement.credit_due_on
        else:
            if settlement is not None:
                pay = settlement.expected_on
            elif conv.connection is not None:
                locked = timezone.localdate(conv.locking_at or conv.updated_at)
                pay = network_pay_date(
                    kind=conv.connection.kind,
                    settlement_day=conv.connection.settlement_day,
                    locked=locked,
                    today=today,
                )
            else:
                continue  # no network pays for it: the brand pays it from its balance
            on = pay_lib.add_business_days(pay, ws.crediting_delay_days, country=ws.holiday_country)
        due.setdefault(max(on, today), []).append(conv.member_payout)
    if not due:
        return None
    first = min(due)
    return ExpectedPayment(on=first, amount=sum(due[first], ZERO), currency=ws.currency, conversions=len(due[first]))


def my_links(*, member: Member):
    """The member's links, newest first, with clicks (bots left out) and conversions on each."""
    return (
        Link.objects.filter(workspace_id=member.workspace_id, member=member, archived_at=None)
        .select_related("offer")
        .annotate(
            n_clicks=_count(Click.objects.filter(link=OuterRef("pk"), is_bot=False), "link"),
            n_conversions=_count(
                Conversion.objects.filter(click__link=OuterRef("pk"), member=member).exclude(
                    status=ConversionStatus.REJECTED
                ),
                "click__link",
            ),
        )
        .order_by("-created_at", "-id")
    )


def _count(rows, group: str):
    """A per-row count as a subquery (no join that multiplies clicks by conversions)."""
    counted = rows.order_by().values(group).annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def link_conversions(*, member: Member, link: Link):
    return _conversions(member).filter(click__link=link).select_related("offer").order_by("-event_at")[:20]


def link_clicks(*, member: Member, link: Link):
    return Click.objects.filter(workspace_id=member.workspace_id, member=member, link=link).order_by("-created_at")[:20]


def my_conversions(*, member: Member, status: str = "", offer_code: str = "", start=None, end=None):
    qs = _conversions(member).select_related("offer", "click__link")
    if status:
        qs = qs.filter(status=status)
    if offer_code:
        qs = qs.filter(offer__code=offer_code)
    tz = timezone.get_current_timezone()
    if start:
        qs = qs.filter(event_at__gte=pay_start(start, tz))
    if end:
        qs = qs.filter(event_at__lt=pay_start(end + timedelta(days=1), tz))
    return qs.order_by("-event_at", "-id")
