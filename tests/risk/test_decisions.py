"""Held conversions: released or rejected by a person, each decision recorded once with who, when and why."""

from datetime import timedelta
from decimal import Decimal

import pytest

from payments import services as payments
from payments.selectors import check_ledger
from risk.models import Case, Verdict
from risk.services import (
    decide_cases,
    evaluate_conversion,
    evaluate_new_conversion_events_all_workspaces,
    reject_case,
    release_case,
)
from tests.payments.helpers import drain, payable
from tests.risk.helpers import convert, world
from tracking.models import ConversionStatus
from workspaces.errors import DomainError
from workspaces.models import Event


def payments_hold_count(case):
    from payments.models import Hold

    return Hold.objects.filter(conversion=case.conversion).count()


def evaluate():
    return evaluate_new_conversion_events_all_workspaces()


@pytest.fixture
def held_case(workspace):
    evaluate()
    w = world(workspace)
    conversion = convert(w, after=timedelta(seconds=2))
    drain()
    evaluate()
    return Case.objects.get(conversion=conversion), w


def test_a_rule_that_fires_keeps_the_payout_out_of_the_payable_balance(workspace, held_case):
    case, w = held_case
    assert payable(workspace, w["member"]) == Decimal("0.00")
    assert Verdict.objects.filter(conversion=case.conversion).exists()


def test_the_payout_is_held_whichever_of_the_two_readers_runs_first(workspace):
    evaluate()
    w = world(workspace)
    convert(w, after=timedelta(seconds=2))
    evaluate()  # the rules before the ledger
    drain()
    assert payable(workspace, w["member"]) == Decimal("0.00")
    assert check_ledger(workspace=workspace).ok


def test_release_makes_it_payable_once_and_records_the_decision(workspace, held_case):
    case, w = held_case
    assert release_case(case=case, reason="Known fast buyer", actor="alice@brand.test")
    assert not release_case(case=case, reason="again", actor="bob@brand.test")
    case.refresh_from_db()
    assert (case.status, case.decided_by, case.decision_reason) == ("released", "alice@brand.test", "Known fast buyer")
    assert case.decided_at is not None
    assert payable(workspace, w["member"]) == Decimal("10.00")
    assert Event.objects.filter(topic="review.released", subject=f"conversion:{case.conversion.code}").count() == 1
    # The rules run again (a later change) but a person has decided: it stays payable.
    evaluate_conversion(conversion=case.conversion)
    assert payments_hold_count(case) == 1
    assert payable(workspace, w["member"]) == Decimal("10.00")
    assert check_ledger(workspace=workspace).ok


def test_reject_rejects_the_conversion_and_its_money_never_becomes_payable(workspace, held_case):
    case, w = held_case
    assert reject_case(case=case, reason="Card testing", actor="alice@brand.test")
    case.conversion.refresh_from_db()
    assert case.conversion.status == ConversionStatus.REJECTED
    assert payable(workspace, w["member"]) == Decimal("0.00")  # before the ledger posts the rejection
    drain()
    assert payable(workspace, w["member"]) == Decimal("0.00")
    assert check_ledger(workspace=workspace).ok


def test_a_decision_needs_a_reason(held_case):
    case, _ = held_case
    with pytest.raises(DomainError):
        release_case(case=case, reason=" ", actor="alice@brand.test")
    with pytest.raises(DomainError):
        reject_case(case=case, reason="", actor="alice@brand.test")


def test_bulk_decisions_decide_only_open_cases_of_the_workspace(workspace, other_workspace):
    evaluate()
    w, theirs = world(workspace), world(other_workspace)
    mine = [convert(w, after=timedelta(seconds=1)) for _ in range(3)]
    foreign = convert(theirs, after=timedelta(seconds=1))
    drain()
    evaluate()
    cases = list(Case.objects.filter(conversion__in=mine))
    release_case(case=cases[0], reason="fine", actor="alice@brand.test")
    codes = [c.code for c in cases] + [Case.objects.get(conversion=foreign).code]
    assert decide_cases(workspace=workspace, codes=codes, decision="release", reason="Checked", actor="bob") == 2
    assert Case.objects.get(conversion=foreign).status == Case.Status.HELD
    assert payable(workspace, w["member"]) == Decimal("30.00")
    with pytest.raises(DomainError):
        decide_cases(workspace=workspace, codes=codes, decision="approve", reason="x", actor="bob")
    assert check_ledger().ok


def test_a_member_on_hold_has_each_new_conversion_held(workspace):
    evaluate()
    w = world(workspace)
    payments.hold_member(member=w["member"], reason="Chargebacks", actor="alice@brand.test")
    conversion = convert(w)  # trips no rule by itself
    drain()
    evaluate()
    assert Verdict.objects.get(conversion=conversion).rule == "member_on_hold"
    assert payable(workspace, w["member"]) == Decimal("0.00")
