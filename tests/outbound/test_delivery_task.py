"""The real task path: beat's pump task reads the outbox, the delivery task sends; and the guarded transport."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
import respx
from standardwebhooks import Webhook

from config.celery import app
from outbound import tasks
from outbound.models import Delivery
from outbound.transport import guarded_client
from tests.outbound.helpers import HOOK_URL, make_endpoint, start_cursors
from workspaces.outbox import publish


@pytest.fixture
def eager():
    """Tasks run in-process when enqueued, for this test only (never globally: it hides on_commit mistakes)."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@respx.mock
def test_a_payment_event_goes_through_the_pump_task_and_the_delivery_task(
    workspace, eager, django_capture_on_commit_callbacks
):
    endpoint, secret = make_endpoint(workspace, topics=["payment.sent"])
    start_cursors()
    route = respx.post(HOOK_URL).respond(202)
    publish(workspace=workspace, topic="payment.sent", subject="payment:p1", data={"amount": "25.00"})
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.pump_outbox.apply()
    assert result.successful() and result.result == 1
    request = route.calls.last.request
    payload = Webhook(secret).verify(request.content, dict(request.headers))
    assert payload["type"] == "payment.sent" and payload["data"]["amount"] == "25.00"
    assert Delivery.objects.get(endpoint=endpoint).status == "delivered"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = HTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_transport_refuses_to_connect_to_a_loopback_address(local_server):
    # No check before the request: the connection itself refuses (what stops DNS rebinding).
    with guarded_client() as client, pytest.raises(httpx.ConnectError, match="private"):
        client.get(f"http://localhost:{local_server}/")


def test_the_transport_connects_to_the_address_it_checked(local_server, settings, fake_dns):
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    fake_dns["receiver.example.com"] = ["127.0.0.1"]
    with guarded_client() as client:
        response = client.get(f"http://receiver.example.com:{local_server}/")
    assert response.text == "hello"
    fake_dns["receiver.example.com"] = ["10.9.9.9"]
    with guarded_client() as client, pytest.raises(httpx.ConnectError, match="private"):
        client.get(f"http://receiver.example.com:{local_server}/")
