from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import services
from payments.models import AccountKind, FundingCard, LedgerTransaction
from payments.selectors import check_ledger
from tests.conftest import set_role
from tests.payments.helpers import balance, convert, drain, fund, make_connection, make_member, payable
from workspaces.errors import DomainError

D = Decimal


@pytest.fixture
def owed(workspace):
    conn = make_connection(workspace)
    ann, ben = make_member(workspace, "Ann"), make_member(workspace, "Ben")
    convert(conn, ann, sale="300.00")  # 30.00
    convert(conn, ben, sale="200.00")  # 20.00
    drain()
    fund(workspace, D("35.00"))
    return ann, ben


def pay(workspace, members, key):
    return services.create_payment_run(
        workspace=workspace,
        idempotency_key=key,
        rail="manual",
        currency="USD",
        member_ids=[m.pk for m in members],
        paid_on=timezone.localdate(),
    )


def test_a_linked_card_funds_the_difference(workspace, owed):
    services.link_funding_card(workspace=workspace, label="Ops Visa", last4="4242", monthly_limit=D("20.00"))
    plan = services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert (plan.shortfall, plan.card_funds, plan.payable_now) == (D("15.00"), D("15.00"), True)
    batch, _ = pay(workspace, owed, "k")
    assert batch.total == D("50.00")
    assert balance(workspace, AccountKind.AVAILABLE) == 0
    assert balance(workspace, AccountKind.CARD_FUNDING) == D("15.00")
    assert LedgerTransaction.objects.filter(key=f"card-funding:{batch.pk}", kind="card_funding").count() == 1
    assert services.card_headroom(card=FundingCard.objects.get()) == D("5.00")
    assert check_ledger(workspace=workspace).ok


def test_the_card_never_goes_past_its_monthly_limit(workspace, owed):
    services.link_funding_card(workspace=workspace, label="Ops Visa", last4="4242", monthly_limit=D("10.00"))
    with pytest.raises(DomainError, match="more than the 10.00 USD left this month on Ops Visa ending 4242"):
        pay(workspace, owed, "k")
    assert payable(workspace, owed[0]) == D("30.00")
    assert balance(workspace, AccountKind.CARD_FUNDING) == 0


def test_without_a_card_the_balance_is_the_limit(workspace, owed):
    plan = services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert plan.card is None and not plan.payable_now
    with pytest.raises(DomainError, match="exceeds the available balance of 35.00 USD by 15.00"):
        pay(workspace, owed, "k")


def test_finance_links_and_unlinks_a_card(alice_client, workspace):
    response = alice_client.post(
        reverse("payments:link_card"), {"label": "Ops Visa", "last4": "4242", "monthly_limit": "500"}, follow=True
    )
    assert "Linked Ops Visa ending 4242" in response.content.decode()
    assert 'id="funding-card"' in alice_client.get(reverse("payments:overview")).content.decode()
    bad = alice_client.post(
        reverse("payments:link_card"), {"label": "X", "last4": "42a", "monthly_limit": "5"}, follow=True
    )
    assert "Enter the last four digits of the card." in bad.content.decode()
    alice_client.post(reverse("payments:unlink_card"))
    assert not FundingCard.objects.filter(workspace=workspace).exists()


def test_only_finance_links_cards(bob_client, bob, workspace):
    set_role(bob, workspace, "manager")
    form = {"label": "Ops Visa", "last4": "4242", "monthly_limit": "500"}
    assert bob_client.post(reverse("payments:link_card"), form).status_code == 403
    assert bob_client.post(reverse("payments:unlink_card")).status_code == 403
    assert not FundingCard.objects.exists()
