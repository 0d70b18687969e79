"""A sign-in link (and a PayPal email confirmation) used from many places at once works once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from portal import services
from portal.models import PayoutEmailChange, SignInLink
from workspaces.errors import DomainError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def at_once(fn):
    barrier = threading.Barrier(THREADS)

    def worker(_):
        try:
            barrier.wait(timeout=30)
            return fn()
        except DomainError:
            return None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(worker, range(THREADS)))


def test_eight_simultaneous_uses_of_a_link_sign_in_once(ava):
    url = services.issue_sign_in_link(access=ava, purpose=SignInLink.Purpose.SIGN_IN)
    token = url.rstrip("/").rsplit("/", 1)[1]
    results = at_once(lambda: services.redeem_sign_in_link(workspace_slug=ava.workspace.slug, token=token))
    assert [r.pk for r in results if r is not None] == [ava.pk]


def test_eight_simultaneous_confirmations_apply_once(ava):
    from portal.models import hash_token

    change = PayoutEmailChange.objects.create(
        workspace=ava.workspace,
        access=ava,
        new_email="new@paypal.test",
        token_hash=hash_token("t" * 43),
        expires_at=ava.created_at.replace(year=ava.created_at.year + 1),
    )
    results = at_once(lambda: services.confirm_payout_email_change(workspace_slug=ava.workspace.slug, token="t" * 43))
    assert len([r for r in results if r is not None]) == 1
    change.refresh_from_db()
    ava.member.refresh_from_db()
    assert change.confirmed_at is not None and ava.member.paypal_email == "new@paypal.test"
