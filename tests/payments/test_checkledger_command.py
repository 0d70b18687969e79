from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.models import Account, AccountKind
from tests.payments.helpers import convert, drain, fund, make_connection, make_member


def test_it_reports_a_clean_ledger(workspace):
    convert(make_connection(workspace), make_member(workspace))
    drain()
    out = StringIO()
    call_command("checkledger", "--workspace", workspace.slug, stdout=out)
    assert "Ledger OK for workspace alice-brand" in out.getvalue()
    assert "no violations" in out.getvalue()


def test_it_exits_non_zero_with_a_readable_list(workspace, other_workspace):
    fund(workspace, Decimal("20.00"))
    available = Account.objects.get(workspace=workspace, kind=AccountKind.AVAILABLE)
    # Drift the cached balance behind the ledger's back.
    Account.objects.filter(pk=available.pk).update(balance=Decimal("25.00"))
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("checkledger", stderr=err, stdout=StringIO())
    assert exit_info.value.code == 1
    assert "Ledger check FAILED for all workspaces: 1 violation(s):" in err.getvalue()
    assert "caches 25.00 but its entries sum to 20.00" in err.getvalue()
    # The other workspace alone is clean.
    out = StringIO()
    call_command("checkledger", "--workspace", str(other_workspace.code), stdout=out)
    assert "Ledger OK" in out.getvalue()


def test_it_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("checkledger", "--workspace", "nope")


def test_it_catches_a_payment_larger_than_the_payable(workspace):
    from payments.ledger import get_account, post_transaction

    member = make_member(workspace)
    fund(workspace, Decimal("20.00"))
    payable = get_account(workspace=workspace, kind=AccountKind.PAYABLE, currency="USD", member=member)
    available = Account.objects.get(workspace=workspace, kind=AccountKind.AVAILABLE)
    post_transaction(
        workspace=workspace,
        key="payment:forged",
        kind="payment",
        legs=[(payable, Decimal("10.00")), (available, Decimal("-10.00"))],
    )
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("checkledger", stderr=err, stdout=StringIO())
    assert "payment:forged paid 10.00 while only 0 was payable (paid twice?)" in err.getvalue()
