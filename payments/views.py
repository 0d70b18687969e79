import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from offers.models import Member
from payments import selectors, services
from payments.forms import DeclineRunForm, FundingCardForm, PaymentRunForm, ReceiveSettlementForm, TwoPersonRuleForm
from payments.models import FundingCard, Payment, PaymentBatch, Settlement, TwoPersonRule
from workspaces.access import get_for_request
from workspaces.csv_export import stream_csv
from workspaces.decorators import workspace_view
from workspaces.errors import DomainError


def _currency(request) -> tuple[str, list[str]]:
    currencies = selectors.workspace_currencies(workspace=request.workspace)
    chosen = request.GET.get("currency", "").upper()
    return (chosen if chosen in currencies else currencies[0]), currencies


@workspace_view()
def overview(request):
    ws = request.workspace
    currency, currencies = _currency(request)
    settlements = selectors.list_settlements(workspace=ws).filter(currency=currency)
    ctx = {
        "currency": currency,
        "currencies": currencies,
        "figures": selectors.overview_figures(workspace=ws, currency=currency),
        "expected": settlements.filter(status=Settlement.Status.EXPECTED),
        "received": settlements.filter(status=Settlement.Status.RECEIVED),
        "credited": settlements.filter(status=Settlement.Status.CREDITED)[:10],
        "rows": selectors.member_rows(workspace=ws, currency=currency),
        "batches": selectors.list_batches(workspace=ws).filter(currency=currency)[:10],
        "chart": json.dumps(selectors.paid_by_month(workspace=ws, currency=currency)),
        "can_pay": request.membership.can("finance"),
    }
    card = FundingCard.objects.filter(workspace=ws).first()
    ctx["card"], ctx["card_form"] = card, FundingCardForm()
    ctx["card_headroom"] = services.card_headroom(card=card) if card else None
    ctx["two_person"] = TwoPersonRule.objects.filter(workspace=ws).first()
    rule = ctx["two_person"]
    ctx["two_person_form"] = TwoPersonRuleForm(
        initial={
            "threshold": getattr(rule, "threshold", None),
            "settlement_threshold": getattr(rule, "settlement_threshold", None),
        }
    )
    ctx["can_admin"] = request.membership.can("admin")
    return render(request, "payments/overview.html", ctx)


@workspace_view("admin")
@require_POST
def set_two_person_rule(request):
    form = TwoPersonRuleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("payments:overview")
    ws = request.workspace
    rule = services.set_two_person_rule(
        workspace=ws, currency=ws.currency, actor=request.user.email, **form.cleaned_data
    )
    if rule is None:
        messages.success(
            request, "Two-person approval is off: runs are sent and receipts credited without a second person."
        )
    else:
        messages.success(request, "Saved: money above the thresholds now needs a second finance user.")
    return redirect("payments:overview")


@workspace_view("finance")
@require_POST
def link_card(request):
    form = FundingCardForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("payments:overview")
    card = services.link_funding_card(workspace=request.workspace, actor=request.user.email, **form.cleaned_data)
    messages.success(request, f"Linked {card}: runs above the balance are funded up to {card.monthly_limit} a month.")
    return redirect("payments:overview")


@workspace_view("finance")
@require_POST
def unlink_card(request):
    if services.unlink_funding_card(workspace=request.workspace):
        messages.success(request, "Card unlinked: payment runs are limited to the available balance again.")
    return redirect("payments:overview")


@workspace_view()
def member_statement(request, code):
    member = get_for_request(request, Member, code=code)
    statement = selectors.member_statement(workspace=request.workspace, member=member)
    return render(request, "payments/statement.html", {"member": member, **statement})


@workspace_view("finance")
def ledger_csv(request):
    """The whole ledger, one row per entry, streamed so a large ledger never sits in memory."""
    header = ["transaction", "posted_at", "kind", "memo", "account", "member", "network", "currency", "debit", "credit"]
    header += ["prepared_by", "approved_by"]
    rows = (
        [
            entry.transaction.key,
            entry.transaction.created_at,
            entry.transaction.kind,
            entry.transaction.memo,
            entry.account.get_kind_display(),
            entry.account.member.name if entry.account.member else "",
            entry.account.connection.label if entry.account.connection else "",
            entry.currency,
            entry.amount if entry.amount > 0 else "",
            -entry.amount if entry.amount < 0 else "",
            entry.transaction.payment.batch.created_by if entry.transaction.payment else "",
            entry.transaction.payment.batch.approved_by if entry.transaction.payment else "",
        ]
        for entry in selectors.ledger_rows(workspace=request.workspace)
    )
    return stream_csv(f"ledger-{request.workspace.slug}-{timezone.localdate():%Y%m%d}.csv", header, rows)


@workspace_view()
def settlement_detail(request, code):
    return _settlement_page(request, code)


def _settlement_page(request, code, form=None, status=200):
    settlement = get_for_request(request, Settlement.objects.select_related("connection", "network_payout"), code=code)
    paid = services.match_network_payout(settlement=settlement)
    if form is None:
        if paid is not None:
            # What the network says it paid: finance confirms (or corrects) it by marking the settlement received.
            initial = {"amount": paid.amount, "received_on": paid.paid_on, "reference": paid.reference}
        else:
            initial = {"amount": settlement.expected_amount, "received_on": timezone.localdate()}
        form = ReceiveSettlementForm(initial=initial)
    lines = settlement.lines.select_related("conversion", "conversion__member").order_by("conversion__locking_at")
    ctx = {
        "settlement": settlement,
        "paid": paid,
        "lines": lines,
        "form": form,
        "can_pay": request.membership.can("finance"),
    }
    return render(request, "payments/settlement.html", ctx, status=status)


@workspace_view("finance")
@require_POST
def confirm_receipt(request, code):
    settlement = get_for_request(request, Settlement, code=code, right="finance")
    try:
        services.confirm_settlement_receipt(settlement=settlement, actor=request.user.email)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("payments:settlement", code=settlement.code)
    messages.success(request, f"Confirmed: it will be credited to the balance on {settlement.credit_due_on:%Y-%m-%d}.")
    return redirect("payments:settlement", code=settlement.code)


@workspace_view("finance")
@require_POST
def receive_settlement(request, code):
    settlement = get_for_request(request, Settlement, code=code, right="finance")
    form = ReceiveSettlementForm(request.POST)
    if not form.is_valid():
        # The page again, with what was typed and each error on its field.
        return _settlement_page(request, settlement.code, form=form, status=400)
    try:
        settlement = services.mark_settlement_received(
            settlement=settlement, actor=request.user.email, **form.cleaned_data
        )
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("payments:settlement", code=settlement.code)
    difference = settlement.difference
    note = f" A difference of {difference} {settlement.currency} was booked." if difference else ""
    messages.success(
        request, f"Marked received. It will be credited to the balance on {settlement.credit_due_on:%Y-%m-%d}.{note}"
    )
    return redirect("payments:settlement", code=settlement.code)


def _run_form(request, data=None):
    ws = request.workspace
    currency, currencies = _currency(request)
    if data is not None and data.get("currency", "").upper() in currencies:
        currency = data["currency"].upper()
    rail = (data or {}).get("rail", "manual")
    plan = services.plan_payment_run(workspace=ws, currency=currency, rail=rail)
    # Any member of the workspace is a valid choice: a resubmitted run names members already paid.
    choices = [(str(code), name) for code, name in Member.objects.filter(workspace=ws).values_list("code", "name")]
    form = PaymentRunForm(
        data,
        currencies=currencies,
        member_choices=choices,
        initial={"currency": currency, "paid_on": timezone.localdate()},
    )
    return form, plan


def _plan_for(request, form):
    data = form.cleaned_data
    member_ids = None
    if not data["select_all"]:
        codes = data["members"]
        member_ids = list(
            Member.objects.filter(workspace=request.workspace, code__in=codes).values_list("pk", flat=True)
        )
    plan = services.plan_payment_run(
        workspace=request.workspace,
        currency=data["currency"],
        rail=data["rail"],
        member_ids=member_ids,
        minimum=data["minimum"],
    )
    return plan, member_ids


@workspace_view("finance")
def make_payment(request):
    """Step 1 (GET): choose members, rail and minimum. Step 2 (POST): review the total against the balance."""
    if request.method != "POST":
        form, plan = _run_form(request)
        return render(request, "payments/pay_select.html", {"form": form, "plan": plan})
    form, _ = _run_form(request, request.POST)
    if not form.is_valid():
        _, plan = _run_form(request)
        return render(request, "payments/pay_select.html", {"form": form, "plan": plan}, status=400)
    plan, _ = _plan_for(request, form)
    key = services.new_idempotency_key()
    ctx = {"form": form, "plan": plan, "key": key, "data": form.cleaned_data}
    return render(request, "payments/pay_review.html", ctx)


@workspace_view("finance")
@require_POST
def confirm_payment(request):
    form, _ = _run_form(request, request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("payments:pay")
    plan, _ = _plan_for(request, form)
    data = form.cleaned_data
    try:
        batch, created = services.create_payment_run(
            workspace=request.workspace,
            idempotency_key=data["idempotency_key"],
            rail=data["rail"],
            currency=data["currency"],
            member_ids=[r.member.pk for r in plan.payable_rows],
            minimum=data["minimum"],
            reference=data["reference"],
            paid_on=data["paid_on"],
            actor=request.user.email,
        )
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("payments:pay")
    if created and batch.status == PaymentBatch.Status.AWAITING_APPROVAL:
        messages.success(
            request,
            f"Payment run of {batch.total} {batch.currency} prepared: another finance user must approve it "
            "before it is sent. Send them this page's address.",
        )
    elif created:
        messages.success(request, f"Payment run of {batch.total} {batch.currency} created.")
    else:
        messages.info(request, "This payment run was already submitted; nothing was paid twice.")
    return redirect("payments:run", code=batch.code)


@workspace_view()
def history(request):
    batches = selectors.list_batches(workspace=request.workspace)[:200]
    return render(request, "payments/history.html", {"batches": batches})


@workspace_view()
def run_detail(request, code):
    batch = get_for_request(request, PaymentBatch, code=code)
    payments = batch.payments.select_related("member").order_by("member__name")
    retried = set(
        Payment.objects.filter(workspace=request.workspace, retry_of__batch=batch).values_list("retry_of_id", flat=True)
    )
    ctx = {
        "batch": batch,
        "totals": selectors.run_totals(batch),
        "payments": payments,
        "retried": retried,
        "can_pay": request.membership.can("finance"),
        "decline_form": DeclineRunForm(),
    }
    return render(request, "payments/run.html", ctx)


@workspace_view("finance")
@require_POST
def approve_run(request, code):
    batch = get_for_request(request, PaymentBatch, code=code, right="finance")
    try:
        batch = services.approve_payment_run(batch=batch, actor=request.user.email)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("payments:run", code=batch.code)
    sent = "recorded as paid" if batch.rail == "manual" else "sent to PayPal"
    messages.success(request, f"Approved: the run of {batch.total} {batch.currency} is {sent}.")
    return redirect("payments:run", code=batch.code)


@workspace_view("finance")
@require_POST
def decline_run(request, code):
    batch = get_for_request(request, PaymentBatch, code=code, right="finance")
    form = DeclineRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for declining.")
        return redirect("payments:run", code=batch.code)
    try:
        services.decline_payment_run(batch=batch, actor=request.user.email, reason=form.cleaned_data["reason"])
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("payments:run", code=batch.code)
    messages.success(request, "Declined: nothing was sent and the money is back in the members' payable balances.")
    return redirect("payments:run", code=batch.code)


@workspace_view("finance")
@require_POST
def retry_payment(request, code):
    payment = get_for_request(request, Payment, code=code, right="finance")
    try:
        batch = services.retry_payment(payment=payment, actor=request.user.email)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("payments:run", code=payment.batch.code)
    messages.success(request, f"Retried: a new run of {batch.total} {batch.currency}.")
    return redirect("payments:run", code=batch.code)
