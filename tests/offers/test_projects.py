from django.urls import reverse

from offers.models import Project
from tests.conftest import set_role


def test_it_lists_and_searches_projects(alice_client, workspace, project):
    Project.objects.create(workspace=workspace, name="Autumn")
    r = alice_client.get(reverse("offers:project_list"), {"q": "spring"})
    assert r.status_code == 200
    assert b"Spring Launch" in r.content
    assert b"Autumn" not in r.content


def test_it_shows_an_empty_state(alice_client):
    r = alice_client.get(reverse("offers:project_list"))
    assert b"No projects yet" in r.content


def test_it_adds_a_project(alice_client, workspace):
    r = alice_client.post(reverse("offers:add_project"), {"name": "Summer", "description": "Beach"})
    assert r.status_code == 302
    assert Project.objects.get(workspace=workspace, name="Summer").description == "Beach"


def test_it_rejects_a_duplicate_name_clearly(alice_client, project):
    r = alice_client.post(reverse("offers:add_project"), {"name": "Spring Launch"})
    assert r.status_code == 200
    assert b"already exists" in r.content
    assert Project.objects.count() == 1


def test_it_edits_archives_and_restores(alice_client, project):
    r = alice_client.post(reverse("offers:edit_project", args=[project.code]), {"name": "Spring 2027"})
    assert r.status_code == 302
    alice_client.post(reverse("offers:archive_project", args=[project.code]))
    project.refresh_from_db()
    assert project.name == "Spring 2027"
    assert project.archived_at is not None
    r = alice_client.get(reverse("offers:project_list"))
    assert list(r.context["projects"]) == []
    r = alice_client.get(reverse("offers:project_list"), {"archived": "1"})
    assert list(r.context["projects"]) == [project]
    alice_client.post(reverse("offers:restore_project", args=[project.code]))
    project.refresh_from_db()
    assert project.archived_at is None


def test_it_requires_write_access(bob_client, bob, workspace, project):
    set_role(bob, workspace, "viewer")
    assert bob_client.get(reverse("offers:project_list")).status_code == 200
    assert bob_client.post(reverse("offers:add_project"), {"name": "X"}).status_code == 403
    assert bob_client.post(reverse("offers:edit_project", args=[project.code]), {"name": "X"}).status_code == 403
    assert bob_client.post(reverse("offers:archive_project", args=[project.code])).status_code == 403
    project.refresh_from_db()
    assert project.name == "Spring Launch" and project.archived_at is None


def test_it_checks_ownership(charlie_client, project):
    r = charlie_client.post(reverse("offers:edit_project", args=[project.code]), {"name": "Mine"})
    assert r.status_code == 404
    project.refresh_from_db()
    assert project.name == "Spring Launch"
