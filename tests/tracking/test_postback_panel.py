"""The offer page's postback panel: exact URLs per network and protocol, and "send test conversion"."""

import pytest

from offers.models import Member
from tests.conftest import set_role
from tests.tracking.postback_world import make_world
from tracking.models import Click, Conversion, PostbackLog
from tracking.postback_params import postback_query


@pytest.fixture
def world(workspace):
    return make_world(workspace)


@pytest.mark.parametrize(
    "network, expected",
    [
        ("impact", "action_id={ActionId}&subid1={SubId1}&subid2={SubId2}&status={Status}&amount={Amount}"),
        (
            "shareasale",
            "afftrack=!!afftrack!!&transID=!!transID!!&amountOfSale=!!amountOfSale!!&commission=!!commission!!",
        ),
        ("generic", "transaction_id={transaction_id}&adv_sub={adv_sub}&sale_amount={sale_amount}&payout={payout}"),
        ("awin", "clickref2={clickref2}&order_id={order_id}&amount={amount}"),
    ],
)
def test_the_panel_shows_the_networks_macros(alice_client, workspace, network, expected, settings):
    world = make_world(workspace, kind=network)
    response = alice_client.get(f"/offers/{world['offer'].code}/postback-panel/")
    page = response.content.decode()
    secret = world["connection"].postback_secret
    assert f"{settings.SITE_URL}/postback/{network}/{secret}?" in page
    assert expected.replace("&", "&amp;") in page
    assert f"/pixel/{secret}.gif?" in page
    assert 'data-copy="#pb-url"' in page and 'data-copy="#pb-pixel"' in page
    assert "Send test conversion" in page


def test_the_affiliate_id_protocol_passes_the_member_back():
    assert postback_query("generic", "server_postback_affiliate_id").startswith("aff_id={affiliate_id}&adv_sub=")
    assert "subid1" not in postback_query("impact", "server_postback_affiliate_id")


def test_every_template_parameter_is_one_the_endpoint_reads(world):
    from tracking.postback_params import NAMES, POSTBACK_MACROS

    known = {name for names in NAMES.values() for name in names}
    for fields in POSTBACK_MACROS.values():
        assert {name.lower() for name, _ in fields} <= known


def test_an_offer_without_connection_gets_a_helpful_empty_state(alice_client, world):
    world["offer"].connection = None
    world["offer"].save()
    page = alice_client.get(f"/offers/{world['offer'].code}/postback-panel/").content.decode()
    assert "Choose a network connection" in page


def test_viewers_see_the_urls_but_not_the_button(bob_client, bob, workspace, world):
    set_role(bob, workspace, "viewer")
    page = bob_client.get(f"/offers/{world['offer'].code}/postback-panel/").content.decode()
    assert "/postback/impact/" in page
    assert "Send test conversion" not in page
    assert bob_client.post(f"/offers/{world['offer'].code}/test-conversion/").status_code == 403


@pytest.mark.parametrize("network", ["impact", "shareasale", "awin", "generic"])
def test_send_test_conversion_runs_click_postback_and_conversion(alice_client, workspace, network):
    world = make_world(workspace, kind=network)
    Member.objects.create(workspace=workspace, name="Tess Test", is_test=True)
    response = alice_client.post(f"/offers/{world['offer'].code}/test-conversion/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    log = PostbackLog.objects.get()
    assert (log.is_test, log.outcome, log.reason) == (True, "accepted", "")
    conv = Conversion.objects.get()
    assert (conv.source, conv.member.name, conv.sale_amount, conv.network) == ("test", "Tess Test", 100, network)
    assert conv.click == Click.objects.get(transaction_id=conv.click.transaction_id)
    assert conv.click.transaction_id in page
    assert f"/conversions/{conv.code}/" in page
    # A second test reuses the member's link and makes a new click and conversion.
    alice_client.post(f"/offers/{world['offer'].code}/test-conversion/", HTTP_HX_REQUEST="true")
    assert Conversion.objects.count() == 2
    assert world["offer"].links.filter(member__is_test=True).count() == 1


def test_send_test_conversion_without_test_member_explains(alice_client, world):
    response = alice_client.post(f"/offers/{world['offer'].code}/test-conversion/", HTTP_HX_REQUEST="true")
    assert "no test member" in response.content.decode()
    assert not PostbackLog.objects.exists()
    response = alice_client.post(f"/offers/{world['offer'].code}/test-conversion/")
    assert response.status_code == 302
    assert response["Location"].endswith("#postback-panel")


def test_it_checks_ownership(charlie_client, world):
    assert charlie_client.get(f"/offers/{world['offer'].code}/postback-panel/").status_code == 404
    assert charlie_client.post(f"/offers/{world['offer'].code}/test-conversion/").status_code == 404
