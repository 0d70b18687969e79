"""A sale first seen by the minimal Impact pixel, then by the Actions sync, ends as one settled conversion."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import respx
from django.core.management import call_command
from django.utils import timezone

from networks import services
from networks.services import records
from payments import services as payments
from payments.models import AccountKind, Settlement
from tests.networks.helpers import actions_page, sample_action, serve_once, url
from tests.payments.helpers import balance, drain, payable
from tracking.attribution import RecordResult
from tracking.models import Conversion, ConversionEvent, PostbackLog

pytestmark = pytest.mark.django_db
D = Decimal


def sync(connection):
    run = services.start_sync_run(connection=connection, kind="actions", trigger="manual")
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    return run


@respx.mock
def test_a_pixel_then_the_impact_sync_of_the_same_sale_ends_in_one_settled_conversion(
    client, workspace, impact_connection, shop
):
    # The thank-you page fires the minimal pixel: click id, affiliate id, amount and payout.
    pixel = client.get(
        f"/pixel/{impact_connection.postback_secret}.gif",
        {"subid1": "hub-click-7f3a9c", "subid2": "creator-42", "amount": "21.99", "payout": "0.88"},
    )
    assert pixel.status_code == 200
    conversion = Conversion.objects.get()
    assert (conversion.status, conversion.locking_at, conversion.source) == ("pending", None, "pixel")

    # Impact's record of the sale: its ActionId, approved and locked a week ago.
    locked = (timezone.now() - timedelta(days=7)).replace(microsecond=0)
    action = sample_action(0, State="APPROVED", LockingDate=locked.isoformat())
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([action])))
    run = sync(impact_connection)
    assert run.status == "succeeded", run.error
    assert (run.created_count, run.updated_count, run.duplicate_count) == (0, 1, 0)

    conversion.refresh_from_db()
    assert Conversion.objects.count() == 1
    assert (conversion.external_id, conversion.status, conversion.locking_at) == (
        "1000.4636.158133",
        "approved",
        locked,
    )
    assert [e.kind for e in ConversionEvent.objects.order_by("id")] == ["created", "adopted"]
    assert PostbackLog.objects.get().conversion == conversion

    # The ledger, the settlement, the receipt and the credit follow.
    drain()
    assert payable(workspace, shop["member"]) == D("2.20")
    today = timezone.localdate()
    payments.refresh_expected_settlement(connection=impact_connection, today=today)
    settlement = Settlement.objects.get(connection=impact_connection)
    assert list(settlement.lines.values_list("conversion_id", flat=True)) == [conversion.pk]
    assert settlement.expected_amount == D("0.88")
    settlement = payments.mark_settlement_received(
        settlement=settlement, amount=D("0.88"), received_on=today - timedelta(days=10)
    )
    assert payments.credit_settlement(settlement=settlement)
    assert balance(workspace, AccountKind.AVAILABLE) == D("0.88")
    out = StringIO()
    call_command("checkledger", stdout=out)
    assert "ok" in out.getvalue().lower()

    # The same sale synced again changes nothing.
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([action])))
    again = sync(impact_connection)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 1)


@respx.mock
def test_a_second_action_on_one_click_is_a_new_sale_not_an_unchanged_one(impact_connection, shop):
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page([sample_action(0)])))
    sync(impact_connection)
    two = [sample_action(0), sample_action(0, Id="1000.4636.158134", Amount="5.00", Payout="0.20")]
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page(two)))
    run = sync(impact_connection)
    assert (run.created_count, run.unchanged_count, run.duplicate_count) == (1, 1, 0)
    assert sorted(Conversion.objects.values_list("external_id", flat=True)) == ["1000.4636.158133", "1000.4636.158134"]


def test_a_run_counts_a_duplicate_of_another_conversion_apart_from_an_unchanged_record(impact_connection, shop):
    run = services.start_sync_run(connection=impact_connection, kind="actions", trigger="manual")
    owner = Conversion(external_id="1000.1", transaction_id="hub-click-7f3a9c")
    records.count(run, RecordResult(owner, "duplicate", "repeat of conversion 1000.1", repeat=True))
    records.count(run, RecordResult(owner, "duplicate", "duplicate of conversion 1000.1"))
    assert (run.unchanged_count, run.duplicate_count) == (1, 1)
    assert "duplicate of conversion 1000.1" in run.note
