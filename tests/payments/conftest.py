"""Fixtures for the payments tests: the world the ledger's property tests run their money steps in."""

import pytest

from tests.payments.helpers import make_connection, make_member

# The property tests' run of steps asserts in tests/payments/money_steps.py: keep pytest's detailed messages.
pytest.register_assert_rewrite("tests.payments.money_steps")


@pytest.fixture
def world(workspace, settings, monkeypatch):
    """A connection and three members (the third without PayPal), PayPal configured.

    PayPal runs are created but never sent: the rail's HTTP side is covered in test_paypal.py.
    """
    settings.PAYPAL_CLIENT_ID = "id"
    settings.PAYPAL_CLIENT_SECRET = "secret"
    monkeypatch.setattr("payments.tasks.send_paypal_batch.delay", lambda *a, **k: None)
    connection = make_connection(workspace)
    members = [make_member(workspace, f"P{i}", paypal=i != 2) for i in range(3)]
    return {"workspace": workspace, "connection": connection, "members": members}
