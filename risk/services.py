"""Writes of the risk app: evaluating conversions from the outbox, holding them, and deciding held ones."""

from django.db import transaction

from risk.models import Case, OrderRef, RiskSettings, Verdict
from risk.rules import Facts, run_rules
from tracking.models import Conversion, ConversionEvent, ConversionSource
from workspaces.models import Workspace
from workspaces.outbox import consume

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
    """Open a review case for the conversion."""
    case, _ = Case.objects.get_or_create(conversion=conversion, defaults={"workspace_id": conversion.workspace_id})
    return case


def evaluate_new_conversion_events_all_workspaces(*, limit: int = 500) -> int:
    """Read the conversion outbox after the risk cursor and evaluate each changed conversion once per batch."""

    def handle(events):
        seen = set()
        for event in events:
            if event.conversion_id not in seen:
                seen.add(event.conversion_id)
                evaluate_conversion(conversion=event.conversion)

    return consume(CONSUMER, ConversionEvent, handle, limit=limit)
