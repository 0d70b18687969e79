"""Demo money history (see seeddemo): three months of approved sales, network
settlements expected, received and credited, and payment runs.

Runs after tracking's demo conversions: the outbox is drained first so every
demo conversion is in the ledger. Seeded once: a workspace with settlements is
left alone (the outbox is still drained).
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.utils import timezone

from networks.models import NetworkPayout
from payments import lib, services
from payments.models import Payment, PaymentBatch, Settlement
from payments.selectors import check_ledger, overview_figures
from tracking.models import ConversionSource, PostbackLog
from tracking.reported import ConversionData
from tracking.services import record_conversion

# Share of the sale the network pays the brand, per network.
NETWORK_RATE = {"impact": Decimal("0.15"), "shareasale": Decimal("0.12")}


def _month_start(today: date, months_ago: int) -> date:
    year, month = today.year, today.month - months_ago
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def _aware(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def seed(ctx: dict) -> None:
    ws = ctx["workspace"]
    connections = ctx.get("connections") or {}
    members = [m for m in ctx.get("members") or [] if not m.is_test]
    services.process_conversion_events_all_workspaces(limit=100_000)
    if connections and members and not Settlement.objects.filter(workspace=ws).exists():
        _seed_history(ws, connections, members)
    figures = overview_figures(workspace=ws, currency=ws.currency)
    ctx["out"]["payments"] = {
        "available": str(figures["available"]),
        "in_transit": str(figures["in_transit"]),
        "owed": str(figures["owed"]),
        "paid_to_date": str(figures["paid_to_date"]),
        "settlements": {
            status: Settlement.objects.filter(workspace=ws, status=status).count()
            for status in Settlement.Status.values
        },
        "payment_runs": PaymentBatch.objects.filter(workspace=ws).count(),
        "ledger_ok": check_ledger(workspace=ws).ok,
    }


def _seed_history(ws, connections, members) -> None:
    today = timezone.localdate()
    # 1. Sales synced from the networks over the last three months, approved and locked
    #    ten days later; plus a few this month, locked already, for the next settlement.
    n = 0
    for months_ago in (3, 2, 1, 0):
        start = _month_start(today, months_ago)
        for kind, connection in connections.items():
            for i, member in enumerate(members):
                n += 1
                event_at = _aware(start + timedelta(days=1 + i))
                locking_at = event_at + timedelta(days=9)
                if locking_at >= timezone.now():
                    continue
                sale = Decimal(40 + (n * 37) % 210) + Decimal("0.50")
                data = ConversionData(
                    external_id=f"DEMO-{kind.upper()}-{months_ago}-{i}",
                    affiliate_id=member.affiliate_id,
                    sale_amount=sale,
                    network_payout=(sale * NETWORK_RATE.get(kind, Decimal("0.10"))).quantize(Decimal("0.01")),
                    status="approved",
                    currency=connection.currency,
                    event_at=event_at,
                    locking_at=locking_at,
                )
                # Reported by the network's postback, logged like any other hit.
                query = urlencode(
                    {
                        "action_id": data.external_id,
                        "affiliate_id": data.affiliate_id,
                        "amount": str(data.sale_amount),
                        "payout": str(data.network_payout),
                        "status": "approved",
                        "currency": data.currency,
                    }
                )
                log = PostbackLog(network=kind, method="GET", query=query, received_at=locking_at)
                record_conversion(connection=connection, data=data, source=ConversionSource.POSTBACK, postback=log)
    services.process_conversion_events_all_workspaces(limit=100_000)

    # 2. The settlements each network's schedule produced, oldest first, as the daily task would have.
    for months_ago in (3, 2, 1):
        start = _month_start(today, months_ago)
        for connection in connections.values():
            # Run "on the 11th" of the month the network pays for (Impact) or pays in (ShareASale).
            run_on = start.replace(day=11)
            if connection.kind in lib.PREVIOUS_MONTH_NETWORKS:
                run_on = _month_start(today, months_ago - 1).replace(day=11)
            if run_on <= today:
                services.refresh_expected_settlement(connection=connection, today=run_on)
    services.create_expected_settlements_all_workspaces(today=today)

    # 3. Networks paid what was due: received the next day (one short by a fee), then credited.
    #    ShareASale's own report says what it paid (its "Affiliate Payment" row): finance confirms that.
    due = Settlement.objects.filter(workspace=ws, expected_on__lte=today).order_by("expected_on", "id")
    for i, settlement in enumerate(due):
        shortfall = Decimal("1.25") if i == 1 else Decimal("0.00")
        amount = max(settlement.expected_amount - shortfall, Decimal("0.00"))
        received_on = min(settlement.expected_on + timedelta(days=1), today)
        reference = f"{settlement.connection.kind.upper()}-PAY-{settlement.expected_on:%Y%m}"
        if settlement.connection.kind == "shareasale":
            NetworkPayout.objects.get_or_create(
                connection=settlement.connection,
                reference=f"DEMO-{settlement.expected_on:%Y%m}",
                defaults={
                    "workspace": ws,
                    "paid_on": settlement.expected_on,
                    "amount": amount,
                    "currency": settlement.currency,
                },
            )
            paid = services.match_network_payout(settlement=settlement)
            amount, received_on, reference = paid.amount, paid.paid_on, paid.reference
        services.mark_settlement_received(
            settlement=settlement,
            amount=amount,
            received_on=received_on,
            reference=reference,
            actor="finance@demo.test",
        )
    services.credit_due_settlements_all_workspaces(today=today)

    # 4. Finance paid the members the balance covers; one bank transfer came back.
    plan = services.plan_payment_run(workspace=ws, currency=ws.currency, rail="manual")
    budget, chosen = plan.available, []
    for row in plan.payable_rows:
        if row.amount <= budget:
            chosen.append(row.member.pk)
            budget -= row.amount
    if not chosen:
        return
    batch, _ = services.create_payment_run(
        workspace=ws,
        idempotency_key="demo-run-1",
        rail="manual",
        currency=ws.currency,
        member_ids=chosen,
        reference="BANK-BATCH-001",
        paid_on=today,
        actor="finance@demo.test",
    )
    returned = batch.payments.order_by("-amount").first()
    if returned is not None and batch.payments.count() > 1:
        services.fail_payment(
            payment=returned, status=Payment.Status.RETURNED, message="Bank returned the transfer: account closed"
        )
