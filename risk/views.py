from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from offers.models import Member
from payments import services as payments
from risk import selectors, services
from risk.forms import DecideForm, MemberHoldForm, RiskSettingsForm
from risk.models import Case
from workspaces.access import get_for_request, require_right
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


def _status(request) -> str:
    status = request.GET.get("status", Case.Status.HELD)
    return status if status in Case.Status.values else Case.Status.HELD


def _decide_form(request, data=None):
    codes = Case.objects.filter(workspace=request.workspace, status=Case.Status.HELD).values_list("code", flat=True)
    return DecideForm(data, case_choices=[(str(c), str(c)) for c in codes])


def _queue(request, form=None, status=200):
    current = _status(request)
    ctx = {
        "cases": selectors.list_cases(workspace=request.workspace, status=current)[:500],
        "status": current,
        "statuses": Case.Status.choices,
        "form": form or _decide_form(request),
        "members_on_hold": selectors.members_on_hold(workspace=request.workspace),
        "can_decide": request.membership.can("manage"),
    }
    return render(request, "risk/queue.html", ctx, status=status)


@workspace_view()
def queue(request):
    return _queue(request)


@workspace_view()
def queue_csv(request):
    header = ["case", "status", "opened_at", "conversion", "member", "member_payout", "currency", "reasons"]
    header += ["decided_by", "decided_at", "decision_reason"]
    rows = (
        [
            str(case.code),
            case.status,
            case.opened_at,
            case.conversion.external_id or case.conversion.transaction_id,
            case.conversion.member.name if case.conversion.member else "",
            case.conversion.member_payout,
            case.conversion.currency,
            "; ".join(v.reason for v in case.conversion.risk_verdicts.all()),
            case.decided_by,
            case.decided_at or "",
            case.decision_reason,
        ]
        for case in selectors.list_cases(workspace=request.workspace, status=_status(request))
    )
    return stream_csv(f"review-{request.workspace.slug}-{timezone.localdate():%Y%m%d}.csv", header, rows)


@workspace_view()
def case_detail(request, code):
    case = get_for_request(request, Case.objects.select_related("conversion__member", "conversion__offer"), code=code)
    ctx = {
        "case": case,
        "conversion": case.conversion,
        "form": _decide_form(request, None),
        "hold_form": MemberHoldForm(),
        "can_decide": request.membership.can("manage"),
        **selectors.case_evidence(case=case),
    }
    return render(request, "risk/case.html", ctx)


@workspace_view("manage")
@require_POST
def decide(request):
    """Release or reject the ticked cases: a confirmation page first, then the decision."""
    form = _decide_form(request, request.POST)
    if not form.is_valid():
        return _queue(request, form=form, status=400)
    data = form.cleaned_data
    if not data["confirmed"]:
        cases = selectors.list_cases(workspace=request.workspace).filter(code__in=data["cases"])
        return render(request, "risk/confirm.html", {"cases": cases, "data": data})
    try:
        decided = services.decide_cases(
            workspace=request.workspace,
            codes=data["cases"],
            decision=data["decision"],
            reason=data["reason"],
            actor=request.user.email,
        )
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("risk:queue")
    verb = "Released" if data["decision"] == "release" else "Rejected as fraud"
    messages.success(request, f"{verb}: {decided} conversion{'s' if decided != 1 else ''}.")
    return redirect("risk:queue")


@workspace_view("manage")
@require_POST
def hold_member(request, code):
    member = get_for_request(request, Member, code=code, right="manage")
    form = MemberHoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for putting the member on hold.")
    else:
        payments.hold_member(member=member, reason=form.cleaned_data["reason"], actor=request.user.email)
        messages.success(request, f"{member.name} is on hold: not paid, and each new conversion is held.")
    return redirect("risk:queue")


@workspace_view("manage")
@require_POST
def lift_member_hold(request, code):
    member = get_for_request(request, Member, code=code, right="manage")
    if payments.lift_member_hold(member=member):
        messages.success(request, f"{member.name} is no longer on hold; their held conversions still need a decision.")
    return redirect("risk:queue")


@workspace_view()
def rule_settings(request):
    current = services.settings_for(request.workspace)
    if request.method != "POST":
        initial = {f: getattr(current, f) for f in RiskSettingsForm().fields}
        return render(request, "risk/settings.html", {"form": RiskSettingsForm(initial=initial)})
    require_right(request.membership, "manage")
    form = RiskSettingsForm(request.POST)
    if not form.is_valid():
        return render(request, "risk/settings.html", {"form": form}, status=400)
    services.update_risk_settings(workspace=request.workspace, **form.cleaned_data)
    messages.success(request, "Fraud rules saved; they apply to conversions recorded or changed from now on.")
    return redirect("risk:settings")
