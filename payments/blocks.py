"""Reasons a member cannot be paid that the apps above payments add (the portal's tax-form rule).

Payments never imports those apps; each registers a check at start-up (its
``AppConfig.ready``). A check takes a member and returns a reason, or "" to let them be paid.
"""

from collections.abc import Callable

from offers.models import Member

_checks: list[Callable[[Member], str]] = []


def register_block(check: Callable[[Member], str]) -> None:
    if check not in _checks:
        _checks.append(check)


def registered_block_reason(member: Member) -> str:
    for check in _checks:
        reason = check(member)
        if reason:
            return reason
    return ""
