"""Writes of the risk app: evaluating conversions from the outbox, holding them, and deciding held ones."""

from django.db import transaction
from django.utils import timezone

from payments import services as payments
from payments.models import MemberHold
from risk.models import Case, OrderRef, RiskSettings, Rule, Verdict
from risk.rules import Facts, Finding, run_rules
from tracking.models import Conversion, ConversionEvent, ConversionSource, ConversionStatus
from tracking.services import change_conversion_status
from workspaces.errors import DomainError
from workspaces.models import Workspace
from workspaces.outbox import consume, publish

CONSUMER = "risk-rules"


def settings_for(workspace: Workspace) -> RiskSettings:
    settings, _ = RiskSettings.objects.get_or_create(workspace=workspace)
    return settings


def facts_for(conversion: Conversion) -> Facts:
    """The conversion with its click, member and offer, and the parameters its postbacks carried (later win)."""
    params: dict = {}
    for logged in conversion.postbacks.order_by("id").values_list("params", flat=True)[:20]:
        params.update({str(k).lower(): v for k, v in (logged or {}).items()})
    return Facts(conversion=conversion, params=params)


def evaluate_conversion(*, conversion: Conversion) -> list[Verdict]:
    """Run the workspace's switched-on rules on ``conversion``; store new verdicts; hold it if any fired.

    A conversion that a person already decided (its case is released or rejected)
    gets new verdicts recorded but is not held again. Returns the new verdicts.
    """
    if conversion.source == ConversionSource.TEST:
        return []
    conversion = Conversion.objects.select_related("click__member", "member", "offer").get(pk=conversion.pk)
    facts = facts_for(conversion)
    if facts.order_ref:
        OrderRef.objects.update_or_create(
            conversion=conversion, defaults={"workspace_id": conversion.workspace_id, "ref": facts.order_ref}
        )
    findings = run_rules(facts, settings_for(conversion.workspace))
    if conversion.member_id and MemberHold.objects.filter(member_id=conversion.member_id).exists():
        findings.append(Finding(Rule.MEMBER_ON_HOLD, "The member is on hold: each of their conversions is held."))
    created = []
    for finding in findings:
        verdict, new = Verdict.objects.get_or_create(
            conversion=conversion,
            rule=finding.rule,
            defaults={
                "workspace_id": conversion.workspace_id,
                "reason": finding.reason[:500],
                "evidence": finding.evidence,
            },
        )
        if new:
            created.append(verdict)
    if findings and not Case.objects.filter(conversion=conversion).exists():
        hold_conversion(conversion=conversion, reason="; ".join(f.reason for f in findings))
    return created


@transaction.atomic
def hold_conversion(*, conversion: Conversion, reason: str) -> Case:
    """Open a review case and keep the conversion's member payout out of the payable balance."""
    case, _ = Case.objects.get_or_create(conversion=conversion, defaults={"workspace_id": conversion.workspace_id})
    payments.hold_conversion(conversion=conversion, reason=reason)
    return case


@transaction.atomic
def release_case(*, case: Case, reason: str, actor: str) -> bool:
    """A person found the held conversion fine: its member payout becomes payable. False if already decided."""
    if not reason.strip():
        raise DomainError("Give a reason for releasing: the decision is recorded with it.")
    if not _claim(case, Case.Status.RELEASED, reason, actor):
        return False
    payments.release_hold(conversion=case.conversion, actor=actor)
    return True


@transaction.atomic
def reject_case(*, case: Case, reason: str, actor: str) -> bool:
    """A person confirmed fraud: the conversion is rejected and its money never reaches the payable balance.

    The hold stays on: the rejection's ledger posting (by the outbox consumer) takes the
    member payout out of the "on hold" account, so it is never payable in between.
    """
    if not reason.strip():
        raise DomainError("Give a reason for rejecting: the decision is recorded with it.")
    if not _claim(case, Case.Status.REJECTED, reason, actor):
        return False
    conversion = case.conversion
    if conversion.status in (ConversionStatus.PENDING, ConversionStatus.APPROVED):
        change_conversion_status(
            conversion=conversion, status=ConversionStatus.REJECTED, reason=f"Fraud: {reason}", actor=actor
        )
    return True


def decide_cases(*, workspace: Workspace, codes: list, decision: str, reason: str, actor: str) -> int:
    """Release or reject several open cases at once; returns how many were decided."""
    decide = {"release": release_case, "reject": reject_case}.get(decision)
    if decide is None:
        raise DomainError("Choose release or reject.")
    if not reason.strip():
        raise DomainError("Give a reason: the decision is recorded with it.")
    cases = Case.objects.filter(workspace=workspace, code__in=codes, status=Case.Status.HELD).select_related(
        "conversion"
    )
    return sum(decide(case=case, reason=reason, actor=actor) for case in cases)


def _claim(case: Case, status: str, reason: str, actor: str) -> bool:
    """Record the decision on a still-open case (a conditional update: two deciders, one wins)."""
    claimed = Case.objects.filter(pk=case.pk, status=Case.Status.HELD).update(
        status=status, decided_at=timezone.now(), decided_by=actor[:150], decision_reason=reason[:500]
    )
    if claimed == 1:
        publish(
            workspace=case.workspace,
            topic=f"review.{status}",
            subject=f"conversion:{case.conversion.code}",
            data={"case": str(case.code), "by": actor, "reason": reason[:500]},
        )
    return claimed == 1


def evaluate_new_conversion_events_all_workspaces(*, limit: int = 500) -> int:
    """Read the conversion outbox after the risk cursor and evaluate each changed conversion once per batch."""

    def handle(events):
        seen = set()
        for event in events:
            if event.conversion_id not in seen:
                seen.add(event.conversion_id)
                evaluate_conversion(conversion=event.conversion)

    return consume(CONSUMER, ConversionEvent, handle, limit=limit)


def update_risk_settings(*, workspace: Workspace, **values) -> RiskSettings:
    settings = settings_for(workspace)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.save(update_fields=[*values, "updated_at"])
    return settings
