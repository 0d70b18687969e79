"""Reads of the risk app: the review queue and the evidence behind one held conversion."""

from django.db.models import Prefetch

from payments.models import Hold, MemberHold
from risk.models import Case, Verdict
from tracking.models import Conversion


def list_cases(*, workspace, status: str = Case.Status.HELD):
    """A workspace's cases in ``status``, oldest first, with their conversion, click and verdicts."""
    return (
        Case.objects.filter(workspace=workspace, status=status)
        .select_related("conversion__member", "conversion__click", "conversion__offer")
        .prefetch_related(Prefetch("conversion__risk_verdicts", queryset=Verdict.objects.order_by("id")))
        .order_by("opened_at", "id")
    )


def case_evidence(*, case: Case) -> dict:
    """What a reviewer needs: the click, the visitor, the timings, every verdict, and the other report of the order."""
    conversion = case.conversion
    click = conversion.click
    verdicts = list(Verdict.objects.filter(conversion=conversion).order_by("id"))
    other_codes = [v.evidence.get("other_conversion") for v in verdicts if v.evidence.get("other_conversion")]
    return {
        "click": click,
        "seconds_after_click": (conversion.event_at - click.created_at).total_seconds() if click else None,
        "verdicts": verdicts,
        "others": Conversion.objects.filter(workspace=case.workspace, code__in=other_codes).select_related("member"),
        "hold": Hold.objects.filter(conversion=conversion).order_by("-id").first(),
        "member_hold": MemberHold.objects.filter(member_id=conversion.member_id).first(),
    }


def members_on_hold(*, workspace):
    return MemberHold.objects.filter(workspace=workspace).select_related("member").order_by("created_at")
