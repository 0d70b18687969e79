"""Fixtures for the networks tests: an Impact connection with encrypted credentials."""

from decimal import Decimal

import pytest

from networks.crypto import encrypt_credentials
from offers.models import Link, Member, NetworkConnection, Offer
from tests.tools.impact_standin import TOKEN
from tracking.models import Click

# The Account SID of the samples in tests/fixtures/impact/ (their URIs carry it).
SID = "IRTESTSID0000000000000000000000001"

IMPACT_BASE = "https://impact.test"


@pytest.fixture(autouse=True)
def _impact_base(settings):
    settings.IMPACT_API_BASE_URL = IMPACT_BASE


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch):
    # The client's in-process backoff must not slow the suite; tests that check it patch it again.
    monkeypatch.setattr("networks.impact.time.sleep", lambda s: None)


def make_impact_connection(workspace, *, sid=SID, token=TOKEN, **kw) -> NetworkConnection:
    return NetworkConnection.objects.create(
        workspace=workspace,
        kind="impact",
        label=kw.pop("label", "Impact"),
        account_sid=sid,
        credentials_encrypted=encrypt_credentials({"auth_token": token}),
        **kw,
    )


@pytest.fixture
def impact_connection(workspace):
    return make_impact_connection(workspace)


def impact_url(path: str, sid: str = SID) -> str:
    return f"{IMPACT_BASE}/Mediapartners/{sid}/{path}"


@pytest.fixture
def shop(workspace, impact_connection):
    """A member with a click whose transaction id the first sample action carries in SubId1."""
    member = Member.objects.create(workspace=workspace, name="Creator 42", affiliate_id="creator-42")
    offer = Offer.objects.create(
        workspace=workspace,
        name="Acme",
        offer_url="https://acme.sjv.io/c/1/2/3?subId1={transaction_id}",
        connection=impact_connection,
        payout_type="percent",
        payout_percent=Decimal("10"),
    )
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    click = Click.objects.create(
        workspace=workspace, transaction_id="hub-click-7f3a9c", link=link, offer=offer, member=member
    )
    return {"member": member, "offer": offer, "click": click}
