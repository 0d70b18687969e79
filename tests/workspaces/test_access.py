"""The named access helpers resolve real models and hide other workspaces' objects."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from tests.outsider import build_world
from workspaces import access
from workspaces.models import Membership

HELPERS = {
    "get_project": "project",
    "get_member": "member",
    "get_offer": "offer",
    "get_link": "link",
    "get_connection": "connection",
    "get_conversion": "conversion",
    "get_postback": "postback",
}


def _request(user, workspace):
    request = RequestFactory().get("/")
    request.user = user
    request.workspace = workspace
    request.membership = Membership.objects.get(user=user, workspace=workspace)
    return request


@pytest.mark.parametrize("helper,key", sorted(HELPERS.items()))
def test_each_helper_finds_its_object_and_hides_it_from_outsiders(
    helper, key, workspace, alice, charlie, other_workspace, bob
):
    world = build_world(workspace, alice)
    obj = world[key]
    lookup = obj.code
    assert getattr(access, helper)(_request(alice, workspace), lookup) == obj
    with pytest.raises(Http404):
        getattr(access, helper)(_request(charlie, other_workspace), lookup)
    Membership.objects.filter(user=bob).update(role="viewer")
    assert getattr(access, helper)(_request(bob, workspace), lookup) == obj
    with pytest.raises(PermissionDenied):
        getattr(access, helper)(_request(bob, workspace), lookup, write=True)
