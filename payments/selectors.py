"""Reads of the payments app: overview figures, member statements, the ledger export and the invariants."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from offers.models import Member
from payments.lib import CENT
from payments.models import (
    CREDIT_NORMAL,
    MEMBER_KINDS,
    ZERO,
    Account,
    AccountKind,
    Entry,
    Hold,
    LedgerTransaction,
    Payment,
    PaymentBatch,
    Settlement,
    TxnKind,
)
from tracking.models import Conversion, ConversionStatus
from workspaces.models import Workspace

SENT = [Payment.Status.PENDING, Payment.Status.UNCLAIMED, Payment.Status.PAID]


def sent_payments(*, workspace: Workspace, currency: str):
    """Payments on their way or paid; a run still waiting for its second approver is not sent yet."""
    return Payment.objects.filter(workspace=workspace, currency=currency, status__in=SENT).exclude(
        batch__status=PaymentBatch.Status.AWAITING_APPROVAL
    )


def workspace_currencies(*, workspace: Workspace) -> list[str]:
    found = set(Account.objects.filter(workspace=workspace).values_list("currency", flat=True).distinct())
    found.add(workspace.currency)
    return sorted(found, key=lambda c: (c != workspace.currency, c))


def account_balance(*, workspace: Workspace, kind: str, currency: str) -> Decimal:
    """The summed display balance of every account of ``kind`` in ``currency``."""
    total = Account.objects.filter(workspace=workspace, kind=kind, currency=currency).aggregate(t=Sum("balance"))["t"]
    total = total or ZERO
    return -total if kind in CREDIT_NORMAL else total


def overview_figures(*, workspace: Workspace, currency: str, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    month_start = today.replace(day=1)
    # Test members are never paid, so what they "earn" is no one's debt.
    payables = Account.objects.filter(
        workspace=workspace, kind=AccountKind.PAYABLE, currency=currency, member__is_test=False
    )
    sent = sent_payments(workspace=workspace, currency=currency)
    expected = Settlement.objects.filter(workspace=workspace, currency=currency, status=Settlement.Status.EXPECTED)
    return {
        "available": account_balance(workspace=workspace, kind=AccountKind.AVAILABLE, currency=currency),
        "in_transit": account_balance(workspace=workspace, kind=AccountKind.IN_TRANSIT, currency=currency),
        "receivable": account_balance(workspace=workspace, kind=AccountKind.RECEIVABLE, currency=currency),
        "expected_total": expected.aggregate(t=Sum("expected_amount"))["t"] or ZERO,
        # Owed: positive payables only; negative ones are clawbacks the member still owes back.
        "owed": -(payables.filter(balance__lt=0).aggregate(t=Sum("balance"))["t"] or ZERO),
        "clawbacks": payables.filter(balance__gt=0).aggregate(t=Sum("balance"))["t"] or ZERO,
        # Held for review: earned, but kept out of what can be paid until released.
        "on_hold": account_balance(workspace=workspace, kind=AccountKind.HELD, currency=currency),
        "paid_this_month": sent.filter(created_at__date__gte=month_start).aggregate(t=Sum("amount"))["t"] or ZERO,
        "paid_to_date": sent.aggregate(t=Sum("amount"))["t"] or ZERO,
    }


def list_settlements(*, workspace: Workspace, status: str | None = None):
    qs = Settlement.objects.filter(workspace=workspace).select_related("connection").annotate(n=Count("lines"))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-expected_on", "-id")


@dataclass
class MemberRow:
    member: Member
    earned: Decimal = ZERO
    pending: Decimal = ZERO
    payable: Decimal = ZERO
    on_hold: Decimal = ZERO
    paid: Decimal = ZERO
    last_paid_at: object = None


def member_rows(*, workspace: Workspace, currency: str) -> list[MemberRow]:
    """Earned (approved, net of reversals), pending, payable, paid and last payment per member
    (test members left out: they are never paid)."""
    rows: dict[int, MemberRow] = {}

    def row(member_id):
        return rows.setdefault(member_id, MemberRow(member=None))

    earned = (
        Entry.objects.filter(
            workspace=workspace,
            currency=currency,
            account__kind__in=MEMBER_KINDS,
            transaction__kind=TxnKind.CONVERSION,
        )
        .values("account__member_id")
        .annotate(t=Sum("amount"))
    )
    for r in earned:
        row(r["account__member_id"]).earned = -r["t"]
    pending = (
        Conversion.objects.filter(
            workspace=workspace, currency=currency, status=ConversionStatus.PENDING, member__isnull=False
        )
        .values("member_id")
        .annotate(t=Sum("member_payout"))
    )
    for r in pending:
        row(r["member_id"]).pending = r["t"] or ZERO
    for account in Account.objects.filter(workspace=workspace, kind__in=MEMBER_KINDS, currency=currency):
        if account.kind == AccountKind.PAYABLE:
            row(account.member_id).payable = -account.balance
        else:
            row(account.member_id).on_hold = -account.balance
    paid = (
        sent_payments(workspace=workspace, currency=currency)
        .values("member_id")
        .annotate(t=Sum("amount"), last=Max("created_at"))
    )
    for r in paid:
        row(r["member_id"]).paid = r["t"]
        row(r["member_id"]).last_paid_at = r["last"]
    members = Member.objects.filter(workspace=workspace, pk__in=list(rows), is_test=False).in_bulk()
    out = []
    for member_id, r in rows.items():
        r.member = members.get(member_id)
        if r.member is not None:
            out.append(r)
    out.sort(key=lambda r: (-r.payable, r.member.name))
    return out


def member_statement(*, workspace: Workspace, member: Member) -> dict:
    """Every payable entry of ``member`` (per currency) with a running balance, and their payments."""
    lines = []
    running: dict[str, Decimal] = defaultdict(Decimal)
    entries = (
        Entry.objects.filter(workspace=workspace, account__kind=AccountKind.PAYABLE, account__member=member)
        .select_related("transaction", "transaction__conversion", "transaction__payment")
        .order_by("id")
    )
    for entry in entries:
        owed = -entry.amount
        running[entry.currency] += owed
        lines.append({"entry": entry, "owed": owed, "balance": running[entry.currency]})
    lines.reverse()
    payments = Payment.objects.filter(workspace=workspace, member=member).select_related("batch").order_by("-id")
    return {"lines": lines, "balances": dict(running), "payments": payments, **held_for_member(member=member)}


def held_for_member(*, member: Member) -> dict:
    """What of ``member``'s earnings is on hold: per currency, and per held conversion."""
    on_hold = {
        a.currency: -a.balance
        for a in Account.objects.filter(workspace=member.workspace, kind=AccountKind.HELD, member=member)
        if a.balance
    }
    held = (
        Entry.objects.filter(workspace=member.workspace, account__kind=AccountKind.HELD, account__member=member)
        .values("transaction__conversion_id", "currency")
        .annotate(t=Sum("amount"))
    )
    amounts = {r["transaction__conversion_id"]: (-r["t"], r["currency"]) for r in held if r["t"]}
    holds = (
        Hold.objects.filter(workspace=member.workspace, conversion_id__in=list(amounts), released_at__isnull=True)
        .select_related("conversion")
        .order_by("created_at")
    )
    return {
        "on_hold": on_hold,
        "held": [
            {"hold": h, "amount": amounts[h.conversion_id][0], "currency": amounts[h.conversion_id][1]} for h in holds
        ],
    }


# Payments whose money came back to the member's payable: a run's total is not what was paid.
GAVE_BACK = (Payment.Status.FAILED, Payment.Status.RETURNED)


def run_totals(batch) -> dict:
    """What a run paid, and what came back (failed or returned), apart."""
    return batch.payments.aggregate(
        paid_total=Sum("amount", filter=~Q(status__in=GAVE_BACK)),
        returned_total=Sum("amount", filter=Q(status__in=GAVE_BACK)),
    )


def list_batches(*, workspace: Workspace):
    return (
        PaymentBatch.objects.filter(workspace=workspace)
        .annotate(
            n=Count("payments"),
            n_failed=Count("payments", filter=Q(payments__status__in=GAVE_BACK)),
            paid_total=Sum("payments__amount", filter=~Q(payments__status__in=GAVE_BACK)),
            returned_total=Sum("payments__amount", filter=Q(payments__status__in=GAVE_BACK)),
        )
        .order_by("-created_at", "-id")
    )


def paid_by_month(*, workspace: Workspace, currency: str, months: int = 12) -> dict:
    """A Chart.js bar chart config of money sent to members per month."""
    rows = (
        sent_payments(workspace=workspace, currency=currency)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(t=Sum("amount"))
        .order_by("month")
    )
    data = [(r["month"].strftime("%Y-%m"), float(r["t"])) for r in rows][-months:]
    return {
        "type": "bar",
        "data": {
            "labels": [label for label, _ in data],
            "datasets": [{"label": f"Paid to members ({currency})", "data": [v for _, v in data]}],
        },
        "options": {"plugins": {"legend": {"display": False}}},
    }


def ledger_rows(*, workspace: Workspace):
    """The ledger export: one row per entry, in posting order (iterated, never loaded whole)."""
    return (
        Entry.objects.filter(workspace=workspace)
        .select_related("transaction__payment__batch", "account", "account__member", "account__connection")
        .order_by("transaction_id", "id")
        .iterator(chunk_size=2000)
    )


# ---------------------------------------------------------------------------
# Invariants (checkledger and the property-based tests)
# ---------------------------------------------------------------------------


def _cents(value) -> Decimal:
    # Sums come back as floats on SQLite; PostgreSQL's are exact already.
    return Decimal(str(value or 0)).quantize(CENT)


@dataclass
class LedgerReport:
    transactions: int = 0
    accounts: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_ledger(*, workspace: Workspace | None = None) -> LedgerReport:
    """Verify every ledger invariant, returning a readable list of violations.

    1. each transaction has two or more entries summing to zero per currency;
    2. each account's cached balance equals the sum of its entries, and entries
       carry their account's currency;
    3. no available balance is below zero;
    4. no payable was paid twice: each payment posted exactly once for its
       amount, a refund only for a failed or returned payment, and no payment
       took more than the member's payable held just before it;
    5. holds: an active hold's conversion has nothing left in a payable account,
       and a released one nothing left on hold.
    """
    report = LedgerReport()
    txns = LedgerTransaction.objects.all()
    entries = Entry.objects.all()
    accounts = Account.objects.all()
    payments = Payment.objects.all()
    if workspace is not None:
        txns, entries = txns.filter(workspace=workspace), entries.filter(workspace=workspace)
        accounts, payments = accounts.filter(workspace=workspace), payments.filter(workspace=workspace)
    report.transactions = txns.count()
    report.accounts = accounts.count()
    v = report.violations

    for t in txns.annotate(n=Count("entries")).filter(n__lt=2).values("key", "n"):
        v.append(f"transaction {t['key']} has {t['n']} entries (at least 2 needed)")
    # Sums are rounded to cents: SQLite adds decimals as floats.
    totals = entries.values("transaction__key", "currency").annotate(total=Sum("amount")).order_by("transaction__key")
    for t in totals.iterator(chunk_size=5000):
        if _cents(t["total"]) != 0:
            v.append(f"transaction {t['transaction__key']} does not balance in {t['currency']}: off by {t['total']}")

    sums = dict(entries.values("account_id").annotate(t=Sum("amount")).values_list("account_id", "t"))
    for account in accounts.select_related("member", "connection"):
        actual = _cents(sums.get(account.pk))
        if account.balance != actual:
            v.append(f"account {account} caches {account.balance} but its entries sum to {actual}")
        if account.kind == AccountKind.AVAILABLE and account.balance < 0:
            v.append(f"available balance {account.currency} is below zero: {account.balance}")
    for e in entries.exclude(currency=F("account__currency")).values("id", "currency", "account__currency"):
        v.append(f"entry {e['id']} is in {e['currency']} on an account in {e['account__currency']}")

    posted = defaultdict(list)
    for key, amount in entries.filter(
        transaction__kind__in=[TxnKind.PAYMENT, TxnKind.PAYMENT_FAILED], account__kind=AccountKind.PAYABLE
    ).values_list("transaction__key", "amount"):
        posted[key].append(amount)
    for payment in payments.select_related("member"):
        paid = posted.get(f"payment:{payment.pk}", [])
        if len(paid) != 1 or paid[0] != payment.amount:
            v.append(f"payment {payment.code} to {payment.member} of {payment.amount} posted as {paid}")
        refund = posted.get(f"payment-failed:{payment.pk}", [])
        if payment.gave_money_back and (len(refund) != 1 or refund[0] != -payment.amount):
            v.append(f"{payment.status} payment {payment.code} was refunded as {refund}")
        if not payment.gave_money_back and refund:
            v.append(f"{payment.status} payment {payment.code} was refunded although it did not fail")

    # Walk each payable in posting order: a payment may take at most what was owed just before it.
    owed: dict[int, Decimal] = defaultdict(Decimal)
    walk = (
        entries.filter(account__kind=AccountKind.PAYABLE)
        .values_list("account_id", "amount", "transaction__kind", "transaction__key")
        .order_by("id")
    )
    for account_id, amount, kind, key in walk.iterator(chunk_size=5000):
        if kind == TxnKind.PAYMENT and amount > owed[account_id]:
            v.append(f"{key} paid {amount} while only {owed[account_id]} was payable (paid twice?)")
        owed[account_id] -= amount

    holds = Hold.objects.all() if workspace is None else Hold.objects.filter(workspace=workspace)
    held_now = set(holds.filter(released_at__isnull=True).values_list("conversion_id", flat=True))
    left = (
        entries.filter(account__kind__in=MEMBER_KINDS, transaction__conversion_id__in=holds.values("conversion_id"))
        .values_list("transaction__conversion_id", "account__kind")
        .annotate(t=Sum("amount"))
    )
    for conversion_id, kind, total in left:
        if not _cents(total):
            continue
        if conversion_id in held_now and kind == AccountKind.PAYABLE:
            v.append(f"held conversion {conversion_id} still has {total} in a payable account")
        if conversion_id not in held_now and kind == AccountKind.HELD:
            v.append(f"released conversion {conversion_id} still has {total} on hold")
    return report
