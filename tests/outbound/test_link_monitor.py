"""The link monitor against local HTTP servers: a chain that keeps or drops the click id, a loop, a timeout, a 404."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from offers.models import Link, Offer
from outbound.models import AlertSettings, LinkCheck
from outbound.services import check_offer_links
from outbound.transport import guarded_client
from tests.outbound.helpers import start_cursors
from tests.tracking.postback_world import make_connection, make_member


class Network(BaseHTTPRequestHandler):
    """A network's tracking host and a shop, on one port: 127.0.0.1 is the network, localhost the shop."""

    def do_GET(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        port = self.server.server_address[1]
        routes = {
            "/keep": (302, f"/hop?subId1={query.get('subId1', [''])[0]}"),
            "/hop": (302, f"http://localhost:{port}/shop?irclickid=abc"),  # hands over to the shop
            "/drop": (302, "/track?campaign=1"),  # the same host, the click id gone
            "/track": (302, f"http://localhost:{port}/shop"),
            "/loop-a": (302, "/loop-b"),
            "/loop-b": (302, "/loop-a"),
            "/gone": (404, None),
            "/shop": (200, None),
        }
        if parts.path == "/slow":
            time.sleep(1.5)
        status, location = routes.get(parts.path, (200, None))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def network(settings):
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32", "::1/128"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Network)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def connection(workspace):
    start_cursors()
    return make_connection(workspace, kind="impact")


def offer_at(workspace, connection, url, **kw):
    return Offer.objects.create(workspace=workspace, connection=connection, name="Spring", offer_url=url, **kw)


def check(offer):
    with guarded_client(timeout=0.5) as client:
        return check_offer_links(offer=offer, client=client)


def test_a_chain_that_keeps_the_click_id_until_the_shop_is_healthy(workspace, connection, network):
    offer = offer_at(workspace, connection, network + "/keep?subId1={transaction_id}&subId2={affiliate_id}")
    [result] = check(offer)
    assert result.ok, result.problem
    assert [h["status"] for h in result.hops] == [302, 302, 200]
    assert [h["carries_id"] for h in result.hops] == [True, True, False]
    assert result.hops[-1]["url"].startswith("http://localhost:")


def test_a_redirect_that_drops_the_click_id_on_the_same_host_is_broken(workspace, connection, network):
    offer = offer_at(workspace, connection, network + "/drop?subId1={transaction_id}")
    [result] = check(offer)
    assert not result.ok and "without the click id" in result.problem and "/track?campaign=1" in result.problem


def test_the_offers_own_macro_parameter_counts(workspace, network):
    generic = offer_at(workspace, None, network + "/drop?tid={transaction_id}")
    [result] = check(generic)
    assert result.hops[0]["carries_id"] and not result.ok


@pytest.mark.parametrize(
    "path, problem",
    [
        ("/loop-a?subId1={transaction_id}", "Redirect loop"),
        ("/slow?subId1={transaction_id}", "Timed out"),
        ("/gone?subId1={transaction_id}", "answered 404"),
    ],
)
def test_a_loop_a_timeout_and_a_404_are_broken(workspace, connection, network, path, problem):
    [result] = check(offer_at(workspace, connection, network + path))
    assert not result.ok and problem in result.problem


def test_private_addresses_are_refused_without_the_operators_leave(workspace, connection, network, settings):
    settings.OUTBOUND_ALLOW_NETWORKS = []
    [result] = check(offer_at(workspace, connection, network + "/keep?subId1={transaction_id}"))
    assert not result.ok and "private" in result.problem and result.hops == []


def test_deep_links_in_use_are_checked_too(workspace, network):
    offer = offer_at(
        workspace, None, network + "/shop?tid={transaction_id}", allowed_domains="127.0.0.1"
    )  # generic: the deep link replaces the landing URL and keeps tid
    member = make_member(workspace)
    Link.objects.create(workspace=workspace, offer=offer, member=member, destination_url=network + "/gone")
    results = check(offer)
    assert [r.deep_link for r in results] == ["", network + "/gone"]
    assert results[0].ok and not results[1].ok and "404" in results[1].problem


def test_device_urls_are_checked_too(workspace, connection, network, alice_client):
    offer = offer_at(
        workspace,
        connection,
        network + "/keep?subId1={transaction_id}",
        ios_url=network + "/gone?subId1={transaction_id}",
        android_url=network + "/drop?subId1={transaction_id}",
    )
    results = check(offer)
    assert [(r.device, r.deep_link) for r in results] == [("", ""), ("ios", ""), ("android", "")]
    assert results[0].ok
    assert not results[1].ok and "404" in results[1].problem and "/gone?subId1=linkcheck" in results[1].url
    assert not results[2].ok and "without the click id" in results[2].problem
    page = alice_client.get(f"/offers/{offer.code}/").content.decode()
    assert "iOS URL · checked" in page and "Android URL · checked" in page and "Offer URL · checked" in page
    assert "this offer's iOS URL broken" in page  # the first broken check


def test_a_broken_offer_is_paused_onto_its_fallback_when_the_owner_asked(workspace, connection, network):
    offer = offer_at(
        workspace, connection, network + "/gone?subId1={transaction_id}", fallback_url="https://shop.example/"
    )
    check(offer)
    offer.refresh_from_db()
    assert not offer.paused  # not asked
    AlertSettings.objects.create(workspace=workspace, link_auto_fallback=True)
    check(offer)
    offer.refresh_from_db()
    assert offer.paused
    assert LinkCheck.objects.filter(offer=offer, ok=False).count() == 2
