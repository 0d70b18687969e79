"""The brand invites members to the portal, one from their page or many at once."""

from django.core import mail
from django.urls import reverse

from offers.models import Member, Project
from portal.models import PortalAccess, SignInLink
from tests.conftest import set_role
from tests.portal.helpers import emailed_path, run_email_tasks


def test_it_invites_a_member_from_their_page(alice_client, workspace, alice, settings):
    settings.SITE_URL = "https://hub.example.test"
    member = Member.objects.create(workspace=workspace, name="Ava Trails", email="Ava@Creators.test")
    page = alice_client.get(reverse("tracking:member_detail", args=[member.code])).content.decode()
    assert "Invite to the portal" in page
    r = run_email_tasks(lambda: alice_client.post(reverse("portal_staff:invite_member", args=[member.code])))
    assert r.status_code == 302
    access = PortalAccess.objects.get(member=member)
    assert access.person.email == "ava@creators.test" and access.invited_by == alice
    message = mail.outbox[-1]
    assert message.to == ["ava@creators.test"]
    assert message.subject == "Alice Brand invited you to its member portal"
    assert "expires in 7 days" in message.body
    assert SignInLink.objects.get().purpose == "invitation"
    # The emailed link signs Ava in, once.
    client = alice_client.__class__()
    assert client.post(emailed_path()).status_code == 302
    assert (
        "Email a new sign-in link"
        in alice_client.get(reverse("tracking:member_detail", args=[member.code])).content.decode()
    )


def test_a_person_invited_by_two_brands_has_one_login(client, workspace, other_workspace, alice, charlie):
    from portal import services

    mine = Member.objects.create(workspace=workspace, name="Ava", email="ava@creators.test")
    theirs = Member.objects.create(workspace=other_workspace, name="Ava T", email="ava@creators.test")
    a = run_email_tasks(lambda: services.invite_member(member=mine, invited_by=alice))
    b = run_email_tasks(lambda: services.invite_member(member=theirs, invited_by=charlie))
    assert a.person_id == b.person_id
    assert {x.workspace for x in a.person.accesses.all()} == {workspace, other_workspace}


def test_a_member_without_email_cannot_be_invited(alice_client, workspace):
    member = Member.objects.create(workspace=workspace, name="No Mail")
    r = alice_client.post(reverse("portal_staff:invite_member", args=[member.code]), follow=True)
    assert "has no email address" in r.content.decode()
    assert not PortalAccess.objects.exists()


def test_inviting_needs_the_manage_right(bob_client, workspace, bob):
    set_role(bob, workspace, "viewer")
    member = Member.objects.create(workspace=workspace, name="Ava", email="ava@creators.test")
    assert bob_client.post(reverse("portal_staff:invite_member", args=[member.code])).status_code == 403
    assert bob_client.post(reverse("portal_staff:invite_members")).status_code == 403
    assert not PortalAccess.objects.exists()


def test_it_invites_in_bulk_those_not_yet_invited(alice_client, workspace):
    project = Project.objects.create(workspace=workspace, name="Spring")
    a = Member.objects.create(workspace=workspace, name="A", email="a@creators.test", project=project)
    Member.objects.create(workspace=workspace, name="B", email="b@creators.test")
    Member.objects.create(workspace=workspace, name="No mail", project=project)
    Member.objects.create(workspace=workspace, name="Old", email="o@creators.test", status="archived", project=project)
    r = run_email_tasks(
        lambda: alice_client.post(reverse("portal_staff:invite_members"), {"project": str(project.code)})
    )
    assert r.status_code == 302
    assert list(PortalAccess.objects.values_list("member", flat=True)) == [a.pk]
    assert [m.to for m in mail.outbox] == [["a@creators.test"]]
    # The whole list next: only B is new.
    run_email_tasks(lambda: alice_client.post(reverse("portal_staff:invite_members")))
    assert PortalAccess.objects.count() == 2
    assert [m.to for m in mail.outbox][-1] == ["b@creators.test"]


def test_the_members_list_offers_the_bulk_invitation(alice_client, workspace):
    page = alice_client.get(reverse("reports:member_list")).content.decode()
    assert reverse("portal_staff:invite_members") in page and "Invite all to the portal" in page


def test_bulk_invitation_refuses_another_workspaces_project(alice_client, workspace, other_workspace):
    project = Project.objects.create(workspace=other_workspace, name="Theirs")
    r = alice_client.post(reverse("portal_staff:invite_members"), {"project": str(project.code)})
    assert r.status_code == 404
