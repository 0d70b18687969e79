from django.urls import reverse

from workspaces.models import Membership, Role


def test_it_switches_between_the_users_workspaces(alice_client, alice, other_workspace):
    Membership.objects.create(workspace=other_workspace, user=alice, role=Role.VIEWER)
    r = alice_client.get(reverse("reports:dashboard"))
    assert b"Alice Brand" in r.content
    alice_client.post(reverse("workspaces:switch", args=[other_workspace.code]))
    r = alice_client.get(reverse("reports:dashboard"))
    assert r.context["workspace"] == other_workspace
    assert r.context["membership"].role == Role.VIEWER


def test_it_will_not_switch_to_a_foreign_workspace(charlie_client, workspace):
    r = charlie_client.post(reverse("workspaces:switch", args=[workspace.code]))
    assert r.status_code == 404
    r = charlie_client.get(reverse("reports:dashboard"))
    assert r.context["workspace"].name == "Charlie Brand"
