from decimal import Decimal

import pytest

from offers.models import Link, Member, NetworkConnection, Offer, Project


def make_offer(workspace, **kw) -> Offer:
    fields = {
        "name": "Spring Sale",
        "offer_url": "https://shop.example.com/?tid={transaction_id}",
        "payout_type": "percent",
        "payout_percent": Decimal("10"),
    }
    fields.update(kw)
    return Offer.objects.create(workspace=workspace, **fields)


def make_member(workspace, name="Ava", **kw) -> Member:
    return Member.objects.create(workspace=workspace, name=name, **kw)


@pytest.fixture
def impact(workspace):
    return NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact main")


@pytest.fixture
def offer(workspace):
    return make_offer(workspace, allowed_domains="shop.example.com\n*.example.org")


@pytest.fixture
def project(workspace):
    return Project.objects.create(workspace=workspace, name="Spring Launch")


@pytest.fixture
def member(workspace, project):
    return make_member(workspace, "Ava Trails", email="ava@creators.test", project=project)


@pytest.fixture
def link(workspace, offer, member):
    return Link.objects.create(workspace=workspace, offer=offer, member=member)
