"""Outbound tests: a stand-in resolver, so receivers can have names without the Internet."""

import pytest

from outbound import transport

PUBLIC_IP = "93.184.216.34"
NAMES = {
    "hooks.example.com": [PUBLIC_IP],
    "member.example.net": ["93.184.216.35"],
    "rebind.example.com": ["10.0.0.7"],
    "mixed.example.com": [PUBLIC_IP, "169.254.169.254"],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """Names in NAMES resolve as listed; others (localhost, literals) go to the real resolver."""
    real = transport.lookup

    def lookup(host, port):
        return NAMES[host] if host in NAMES else real(host, port)

    monkeypatch.setattr(transport, "lookup", lookup)
    return NAMES


@pytest.fixture
def queued(monkeypatch):
    """Delivery tasks the code enqueues, recorded instead of sent to a broker: [(kind, target_id), ...]."""
    from outbound import tasks

    calls = []
    monkeypatch.setattr(tasks.deliver, "delay", lambda *args: calls.append(args))
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: calls.append(tuple(args)))
    return calls
