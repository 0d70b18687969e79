"""Impact's Actions/{Id}/Items: fetched for new actions when an offer prices items by rule, within a per-run cap."""

from decimal import Decimal

import httpx
import pytest
import respx

from networks import services
from networks.services import impact_actions
from offers.models import PayoutRule
from tests.networks.helpers import actions_page, load, serve_once, url
from tracking.models import Conversion, ConversionItem

pytestmark = pytest.mark.django_db


def run_actions(connection):
    run = services.start_sync_run(connection=connection, kind="actions", trigger="manual")
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    return run


def items_route():
    return respx.get(url__regex=r".*/Actions/[^/]+/Items$").mock(
        return_value=httpx.Response(200, json=load("impact_action_items.json"))
    )


@respx.mock
def test_new_actions_get_their_items_and_are_priced_by_rule(impact_connection, shop):
    PayoutRule.objects.create(
        workspace=shop["offer"].workspace,
        offer=shop["offer"],
        match="category",
        value="sports",
        payout_type="percent",
        payout_percent=Decimal("20"),
    )
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    route = items_route()
    run = run_actions(impact_connection)
    assert run.status == "succeeded", run.error
    assert route.call_count == 3  # one request per new action
    matched = Conversion.objects.get(external_id="1000.4636.158133")
    assert list(matched.items.order_by("id").values_list("sku", "quantity")) == [("12345", 2), ("67890", 1)]
    # 20 % of 19.27 = 3.854 -> 3.85 and of 2.72 = 0.544 -> 0.54; nothing is left of the 21.99 sale.
    assert matched.member_payout == Decimal("4.39")

    # The next run sees the same actions, stored now: no item requests.
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    run_actions(impact_connection)
    assert route.call_count == 3


@respx.mock
def test_without_payout_rules_no_items_are_fetched(impact_connection, shop):
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    route = items_route()
    assert run_actions(impact_connection).status == "succeeded"
    assert route.call_count == 0
    assert not ConversionItem.objects.exists()


@respx.mock
def test_item_requests_stop_at_the_per_run_cap(impact_connection, shop, monkeypatch):
    monkeypatch.setattr(impact_actions, "ITEM_FETCHES_PER_RUN", 1)
    PayoutRule.objects.create(
        workspace=shop["offer"].workspace, offer=shop["offer"], match="sku", value="12345", payout_type="flat"
    )
    respx.get(url("Actions")).mock(side_effect=serve_once(actions_page()))
    route = items_route()
    assert run_actions(impact_connection).status == "succeeded"
    assert route.call_count == 1
    assert Conversion.objects.count() == 3  # the others are stored as whole orders
