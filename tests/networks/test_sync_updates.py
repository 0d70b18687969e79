"""ActionUpdates: reversals and amount changes reach the conversion exactly once."""

from datetime import timedelta
from decimal import Decimal

import pytest
import respx
from django.utils import timezone

from networks import services
from networks.models import ProcessedActionUpdate
from tests.networks.helpers import actions_page, empty, sample_action, serve_once, updates_page, url
from tracking.models import Conversion, ConversionEvent
from tracking.reported import ConversionData
from tracking.services import record_conversion

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
    # The sample feed: the creation record (PENDING) and the reversal; the creation re-reads the
    # action, through a window of Actions by last-update date around its UpdateDate.
    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page(), "ActionUpdates"))
    listing = respx.get(url("Actions")).respond(
        200, json=actions_page([sample_action(2, State="PENDING", Payout="2.10", Amount="42.00")])
    )
    action = respx.get(url("Actions/1000.4636.157990")).respond(500)
    run = run_updates(impact_connection)
    assert run.status == "succeeded", run.error
    conversion.refresh_from_db()
    assert conversion.status == "reversed"
    assert listing.call_count == 1 and action.call_count == 0
    params = listing.calls.last.request.url.params
    # 2024-09-01T19:40:55-07:00, less and plus the margin of an hour.
    assert (params["StartDate"], params["EndDate"]) == ("2024-09-02T01:40:55Z", "2024-09-02T03:40:55Z")
    assert ProcessedActionUpdate.objects.filter(connection=impact_connection).count() == 2
    events = ConversionEvent.objects.filter(conversion=conversion).count()

    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page(), "ActionUpdates"))
    again = run_updates(impact_connection)
    assert again.status == "succeeded"
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)
    assert ConversionEvent.objects.filter(conversion=conversion).count() == events
    assert listing.call_count == 1  # nothing re-read for updates already applied


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
    respx.get(url("Actions")).respond(200, json=actions_page([sample_action(0, Payout="0.68", Amount="16.99")]))
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


@respx.mock
def test_a_change_the_actions_sync_already_read_is_not_fetched_again(impact_connection):
    from datetime import timedelta

    from django.utils import timezone

    from networks.models import SyncState

    seed_conversion(impact_connection, action_id="1000.4636.158133")
    SyncState.objects.create(
        workspace=impact_connection.workspace,
        connection=impact_connection,
        kind="actions",
        cursor_at=timezone.now(),
    )
    change = updates_page()["ActionUpdates"][0] | {
        "Id": "1000.4636.158133.7",
        "ActionId": "1000.4636.158133",
        "UpdateDate": (timezone.now() - timedelta(hours=3)).isoformat(),
    }
    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page([change]), "ActionUpdates"))
    action = respx.get(url("Actions/1000.4636.158133")).respond(200, json=sample_action(0))
    run = run_updates(impact_connection)
    assert run.status == "succeeded" and run.unchanged_count == 1
    assert action.call_count == 0
    assert ProcessedActionUpdate.objects.filter(update_id="1000.4636.158133.7").exists()


@respx.mock
def test_a_rate_limit_half_way_through_a_page_keeps_what_was_applied(impact_connection, monkeypatch):
    import httpx
    from django.core.cache import cache
    from django.utils import timezone

    from networks import tasks
    from networks.models import SyncRun

    monkeypatch.setattr(tasks.run_sync, "apply_async", lambda args, countdown: None)
    recent = (timezone.now() - timedelta(hours=2)).isoformat()
    template = updates_page()["ActionUpdates"][0] | {"UpdateDate": recent}
    updates = [template | {"Id": f"9.{n}.1", "ActionId": f"9.{n}"} for n in range(60)]
    respx.get(url("ActionUpdates")).mock(side_effect=lambda request: httpx.Response(200, json=updates_page(updates)))
    # The windows of Actions find none of them (changed again since): each is read on its own.
    respx.get(url("Actions")).respond(200, json=empty("Actions"))
    fetched = []

    def action(request):
        action_id = request.url.path.rsplit("/", 1)[-1]
        if len(fetched) == 55 and "limited" not in fetched:
            fetched.append("limited")
            return httpx.Response(429, headers={"Retry-After": "60"})
        fetched.append(action_id)
        return httpx.Response(200, json=sample_action(0, Id=action_id, SubId1=f"t-{action_id}"))

    respx.get(url__regex=r".*/Actions/9\.\d+$").mock(side_effect=action)
    run = services.start_sync_run(connection=impact_connection, kind="updates", trigger="manual")
    tasks.run_sync(run.id)
    run.refresh_from_db()
    assert run.status == "waiting"
    assert ProcessedActionUpdate.objects.filter(connection=impact_connection).count() == 50
    SyncRun.objects.filter(id=run.id).update(retry_at=timezone.now())
    cache.clear()  # Impact's Retry-After has passed too
    tasks.run_sync(run.id)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert ProcessedActionUpdate.objects.filter(connection=impact_connection).count() == 60
    assert Conversion.objects.filter(external_id__startswith="9.").count() == 60
    # 55 fetches before the limit (50 applied, 5 lost with their chunk), then only the last 10 again.
    assert len([f for f in fetched if f != "limited"]) == 55 + 10


def changed_updates(n: int, *, hours_ago: float = 3) -> tuple[list[dict], list[dict]]:
    """``n`` amount changes of ``n`` actions over the last hours: (ActionUpdates, the Actions now)."""
    now = timezone.now()
    template = updates_page()["ActionUpdates"][0]
    updates, actions = [], []
    for i in range(n):
        when = now - timedelta(hours=hours_ago) + timedelta(seconds=i * 3600 * hours_ago / max(n, 1) / 2)
        action_id = f"1000.4636.{500000 + i}"
        updates.append(
            template
            | {"Id": f"{action_id}.2", "ActionId": action_id, "UpdateDate": when.isoformat(), "DeltaPayout": "-0.10"}
        )
        actions.append(sample_action(0, Id=action_id, SubId1=f"hub-click-{i:06x}", Payout="2.00", Amount="40.00"))
    return updates, actions


@respx.mock
def test_a_thousand_updates_cost_a_handful_of_requests(impact_connection):
    updates, actions = changed_updates(1000)
    feed = respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page(updates), "ActionUpdates"))
    listing = respx.get(url("Actions")).respond(200, json=actions_page(actions))
    single = respx.get(url__regex=r".*/Actions/[\d.]+$").respond(200, json=sample_action(0))
    run = run_updates(impact_connection)
    assert run.status == "succeeded", run.error
    assert run.created_count == 1000 and run.rejected_count == 0
    assert single.call_count == 0
    assert listing.call_count == 1
    assert feed.call_count + listing.call_count <= 5 and run.requests == feed.call_count + listing.call_count
    # One window of last-update dates covering every UpdateDate.
    params = listing.calls.last.request.url.params
    dates = sorted(u["UpdateDate"] for u in updates)
    assert params["StartDate"] < dates[0] and params["PageSize"] == "2000"
    assert Conversion.objects.filter(connection=impact_connection, network_payout=Decimal("2.00")).count() == 1000


@respx.mock
def test_actions_the_windows_miss_are_read_one_by_one(impact_connection):
    updates, actions = changed_updates(3)
    respx.get(url("ActionUpdates")).mock(side_effect=serve_once(updates_page(updates), "ActionUpdates"))
    # The third action changed again after the window: the listing does not have it.
    respx.get(url("Actions")).respond(200, json=actions_page(actions[:2]))
    single = respx.get(f"{url('Actions')}/{actions[2]['Id']}").respond(200, json=actions[2])
    run = run_updates(impact_connection)
    assert run.status == "succeeded", run.error
    assert run.created_count == 3 and single.call_count == 1


@respx.mock
def test_a_429_on_action_updates_holds_back_the_actions_sync_of_the_connection(impact_connection):
    respx.get(url("ActionUpdates")).respond(429, json={"Status": "ERROR"}, headers={"Retry-After": "900"})
    listing = respx.get(url("Actions")).respond(200, json=empty("Actions"))
    updates = run_updates(impact_connection)
    assert updates.status == "waiting" and "429" in updates.note
    actions = services.start_sync_run(connection=impact_connection, kind="actions", trigger="schedule")
    outcome = services.execute_sync_run(run=actions)
    actions.refresh_from_db()
    assert listing.call_count == 0
    assert actions.status == "waiting" and 880 <= outcome.retry_in <= 901 and outcome.reason == "rate limit"
    assert actions.retry_at >= updates.retry_at - timedelta(seconds=2)
