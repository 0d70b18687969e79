"""ActionUpdates: reversals and amount changes reach the conversion exactly once."""

from decimal import Decimal

import pytest
import respx

from networks import services
from networks.models import ProcessedActionUpdate
from tests.networks.helpers import sample_action, serve_once, updates_page, url
from tracking.models import Conversion, ConversionEvent
from tracking.services import ConversionData, record_conversion

pytestmark = pytest.mark.django_db


def run_updates(connection):
    run = services.start_sync_run(connection=connection, kind="updates", trigger="manual")
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    return run


def seed_conversion(connection, action_id="1000.4636.157990", payout="2.10", amount="42.00"):
    return record_conversion(
        connection=connection,
        data=ConversionData(
            external_id=action_id,
            transaction_id="hub-click-0b77e1",
            sale_amount=Decimal(amount),
            network_payout=Decimal(payout),
            status="pending",
            currency="USD",
        ),
        source="postback",
    ).conversion


@respx.mock
def test_a_reversal_reaches_the_conversion_once_even_if_the_run_repeats(impact_connection):
    conversion = seed_conversion(impact_connection)
    # The sample feed: the creation record (PENDING) and the reversal; the creation re-reads the action.
    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page(), "ActionUpdates"))
    action = respx.get(url("Actions/1000.4636.157990")).respond(
        200, json=sample_action(2, State="PENDING", Payout="2.10", Amount="42.00")
    )
    run = run_updates(impact_connection)
    assert run.status == "succeeded", run.error
    conversion.refresh_from_db()
    assert conversion.status == "reversed"
    assert action.call_count == 1
    assert ProcessedActionUpdate.objects.filter(connection=impact_connection).count() == 2
    events = ConversionEvent.objects.filter(conversion=conversion).count()

    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page(), "ActionUpdates"))
    again = run_updates(impact_connection)
    assert again.status == "succeeded"
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)
    assert ConversionEvent.objects.filter(conversion=conversion).count() == events
    assert action.call_count == 1  # nothing re-read for updates already applied


@respx.mock
def test_an_amount_change_uses_impacts_absolute_amounts(impact_connection):
    conversion = seed_conversion(impact_connection, action_id="1000.4636.158133", payout="0.88", amount="21.99")
    change = updates_page()["ActionUpdates"][0] | {
        "Id": "1000.4636.158133.3",
        "ActionId": "1000.4636.158133",
        "DeltaPayout": "-0.20",
        "DeltaAmount": "-5.00",
    }
    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page([change]), "ActionUpdates"))
    respx.get(url("Actions/1000.4636.158133")).respond(200, json=sample_action(0, Payout="0.68", Amount="16.99"))
    run = run_updates(impact_connection)
    assert run.updated_count == 1
    conversion.refresh_from_db()
    assert (conversion.sale_amount, conversion.network_payout) == (Decimal("16.99"), Decimal("0.68"))
    event = ConversionEvent.objects.filter(conversion=conversion).latest("id")
    assert event.kind == "amount_changed" and event.before["network_payout"] == "0.88"


@respx.mock
def test_a_reversal_of_an_unknown_action_is_kept_as_a_reversed_conversion(impact_connection):
    reversal = updates_page()["ActionUpdates"][1]
    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page([reversal]), "ActionUpdates"))
    run = run_updates(impact_connection)
    assert run.created_count == 1
    conversion = Conversion.objects.get(external_id="1000.4636.157990")
    assert conversion.status == "reversed" and conversion.member is None
