"""Each app's access helpers fetch real objects through the one gate and hide other workspaces' objects."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from offers import access as offers_access
from offers.models import Offer
from tests.outsider import build_world
from tracking import access as tracking_access
from workspaces import access
from workspaces.api_errors import UnprocessableInput
from workspaces.models import Membership

HELPERS = {
    "get_project": (offers_access, "project"),
    "get_member": (offers_access, "member"),
    "get_offer": (offers_access, "offer"),
    "get_link": (offers_access, "link"),
    "get_connection": (offers_access, "connection"),
    "get_conversion": (tracking_access, "conversion"),
    "get_postback": (tracking_access, "postback"),
}


def _request(user, workspace):
    request = RequestFactory().get("/")
    request.user = user
    request.workspace = workspace
    request.membership = Membership.objects.get(user=user, workspace=workspace)
    return request


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_each_helper_finds_its_object_and_hides_it_from_outsiders(
    name, workspace, alice, charlie, other_workspace, bob
):
    module, key = HELPERS[name]
    helper = getattr(module, name)
    world = build_world(workspace, alice)
    obj = world[key]
    lookup = obj.code
    assert helper(_request(alice, workspace), lookup) == obj
    with pytest.raises(Http404):
        helper(_request(charlie, other_workspace), lookup)
    Membership.objects.filter(user=bob).update(role="viewer")
    assert helper(_request(bob, workspace), lookup) == obj
    with pytest.raises(PermissionDenied):
        helper(_request(bob, workspace), lookup, write=True)


def test_a_code_in_input_names_an_object_of_the_workspace_only(workspace, alice, other_workspace):
    world = build_world(workspace, alice)
    offer = world["offer"]
    assert access.get_for_input(workspace, Offer, offer.code, field="offer") == offer
    assert access.get_for_input(workspace, Offer, None, field="offer") is None
    with pytest.raises(UnprocessableInput) as raised:
        access.get_for_input(other_workspace, Offer, offer.code, field="offer")
    assert raised.value.detail == {"offer": ["Not found."]}
