"""Writes of the payments app: the outbox consumer, settlements, payment runs and their rails.

- outbox.py: conversion events, in order, become ledger transactions (once each); the
  sweeper's count of events left behind.
- settlements.py: the expected settlement of each network's next pay date, matching the
  payouts a network reports, receiving a settlement and crediting it to the available
  balance.
- runs.py: planning and making a payment run from the available balance (locked, keyed
  for idempotency), and a failed or returned payment's money back, or a retry.
- holds.py: a held conversion's member payout moved out of the payable balance and back on
  release; a member on hold as a whole.
- approvals.py: two-person payments: a run above the workspace's threshold waits for a
  second finance user's approval (or decline) before it is sent.
- clicks.py: a member's paid clicks of a day, owed to them.
- funding.py: a linked card that tops a run up within its monthly limit.
- paypal.py: the PayPal rail: submit a run, apply its status, poll it.

Views, tasks and commands use the names below (``from payments import services``).
"""

from payments.services.approvals import (
    approve_payment_run,
    decline_payment_run,
    set_two_person_rule,
)
from payments.services.clicks import post_paid_clicks
from payments.services.funding import (
    card_headroom,
    link_funding_card,
    unlink_funding_card,
)
from payments.services.holds import (
    hold_conversion,
    hold_member,
    lift_member_hold,
    release_hold,
)
from payments.services.outbox import (
    count_stale_conversion_events_all_workspaces,
    post_conversion_event,
    process_conversion_events_all_workspaces,
)
from payments.services.paypal import (
    fail_batch,
    poll_paypal_batch,
    send_paypal_batch,
)
from payments.services.runs import (
    create_payment_run,
    fail_payment,
    new_idempotency_key,
    paypal_configured,
    plan_payment_run,
    retry_payment,
)
from payments.services.settlements import (
    confirm_settlement_receipt,
    create_expected_settlements_all_workspaces,
    credit_due_settlements_all_workspaces,
    credit_settlement,
    mark_settlement_received,
    match_network_payout,
    match_network_payouts_all_workspaces,
    refresh_expected_settlement,
)

__all__ = [
    "approve_payment_run",
    "post_paid_clicks",
    "card_headroom",
    "count_stale_conversion_events_all_workspaces",
    "confirm_settlement_receipt",
    "create_expected_settlements_all_workspaces",
    "create_payment_run",
    "credit_due_settlements_all_workspaces",
    "credit_settlement",
    "decline_payment_run",
    "fail_batch",
    "fail_payment",
    "hold_conversion",
    "hold_member",
    "lift_member_hold",
    "link_funding_card",
    "mark_settlement_received",
    "match_network_payout",
    "match_network_payouts_all_workspaces",
    "new_idempotency_key",
    "paypal_configured",
    "plan_payment_run",
    "poll_paypal_batch",
    "post_conversion_event",
    "process_conversion_events_all_workspaces",
    "refresh_expected_settlement",
    "release_hold",
    "retry_payment",
    "send_paypal_batch",
    "set_two_person_rule",
    "unlink_funding_card",
]
