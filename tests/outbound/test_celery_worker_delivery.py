"""A real Celery worker reads the outbox and calls a real HTTPS receiver, which checks the signature."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook

from outbound import services, tasks
from outbound.models import Attempt, Delivery
from tests.conftest import wait_for
from tests.outbound.helpers import start_cursors
from workspaces.outbox import publish

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def receiver(tmp_path):
    """An HTTPS receiver on localhost that keeps what it was sent."""
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    cert, key = self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://localhost:{server.server_address[1]}/hook", cert, received
    server.shutdown()


@pytest.fixture
def worker_env(receiver, monkeypatch, settings):
    _, cert, _ = receiver
    # The worker may call this machine (it is the receiver) and trusts the receiver's certificate.
    monkeypatch.setenv("OUTBOUND_ALLOW_NETWORKS", "127.0.0.1/32,::1/128")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    settings.OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32", "::1/128"]


def test_a_published_event_is_signed_and_delivered_by_a_real_worker(receiver, worker_env, request, workspace):
    url, _, received = receiver
    worker = request.getfixturevalue("celery_worker_process")  # started after the environment is set
    assert worker.poll() is None
    endpoint, secret = services.create_endpoint(workspace=workspace, url=url, topics=["settlement.received"])
    start_cursors()
    publish(workspace=workspace, topic="settlement.received", subject="settlement:s1", data={"amount": "120.00"})
    tasks.pump_outbox.delay()
    assert wait_for(lambda: Delivery.objects.filter(endpoint=endpoint, status="delivered").exists(), timeout=30), list(
        Attempt.objects.values_list("error", flat=True)
    )
    body, headers = received[0]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "settlement.received" and payload["data"]["amount"] == "120.00"
    assert Attempt.objects.get(delivery__endpoint=endpoint).status_code == 204
