import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import make_user, set_role
from workspaces.models import ApiKey, Invitation, Membership, Role

ADMIN_POSTS = [
    ("workspaces:update_settings", {}, {"name": "X", "crediting_delay_days": 3}),
    ("workspaces:invite", {}, {"email": "x@y.test", "role": "viewer"}),
    ("workspaces:create_api_key", {}, {"name": "k"}),
]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.FINANCE, Role.VIEWER])
@pytest.mark.parametrize("name,kwargs,data", ADMIN_POSTS)
def test_it_requires_the_owner_role(bob_client, bob, workspace, role, name, kwargs, data):
    set_role(bob, workspace, role)
    r = bob_client.post(reverse(name, kwargs=kwargs), data)
    assert r.status_code == 403
    assert not ApiKey.objects.exists()
    assert not Invitation.objects.exists()


def test_every_role_can_read_settings(bob_client, bob, workspace):
    for role in Role:
        set_role(bob, workspace, role)
        assert bob_client.get(reverse("workspaces:settings")).status_code == 200


def test_it_updates_the_crediting_delay_within_bounds(alice_client, workspace):
    alice_client.post(reverse("workspaces:update_settings"), {"name": "New", "crediting_delay_days": 9})
    workspace.refresh_from_db()
    assert workspace.crediting_delay_days == 3
    alice_client.post(reverse("workspaces:update_settings"), {"name": "New", "crediting_delay_days": 5})
    workspace.refresh_from_db()
    assert (workspace.name, workspace.crediting_delay_days) == ("New", 5)


def test_it_invites_by_email_and_shows_the_link(alice_client, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = alice_client.post(
            reverse("workspaces:invite"), {"email": "Dana@Brand.test", "role": "finance"}, follow=True
        )
    invitation = Invitation.objects.get()
    assert invitation.email == "dana@brand.test"
    assert invitation.token.encode() in r.content
    assert len(callbacks) == 1
    # Run the queued task's body as the worker would.
    from workspaces.services import send_invitation

    assert send_invitation(invitation_id=invitation.id)
    assert len(mail.outbox) == 1
    assert invitation.token in mail.outbox[0].body
    assert mail.outbox[0].to == ["dana@brand.test"]


def test_it_refuses_a_second_open_invitation(alice_client, workspace):
    alice_client.post(reverse("workspaces:invite"), {"email": "d@b.test", "role": "viewer"})
    r = alice_client.post(reverse("workspaces:invite"), {"email": "d@b.test", "role": "viewer"}, follow=True)
    assert b"already has an open invitation" in r.content
    assert Invitation.objects.count() == 1


def test_an_invited_person_creates_an_account_and_joins(client, workspace):
    invitation = Invitation.objects.create(workspace=workspace, email="dana@brand.test", role=Role.FINANCE)
    url = reverse("workspaces:accept_invitation", args=[invitation.token])
    r = client.post(url, {"name": "Dana", "password": "a-long-password-1"})
    assert r.status_code == 302
    m = Membership.objects.get(user__email="dana@brand.test")
    assert (m.workspace, m.role) == (workspace, Role.FINANCE)
    # The link is spent.
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("password", ["1234567890", "dana@brand.test", "short1"])
def test_the_sign_up_refuses_a_weak_password(client, workspace, password):
    invitation = Invitation.objects.create(workspace=workspace, email="dana@brand.test", role=Role.FINANCE)
    url = reverse("workspaces:accept_invitation", args=[invitation.token])
    r = client.post(url, {"name": "Dana Typed", "password": password})
    assert r.status_code == 200
    assert r.context["form"].errors["password"]
    page = r.content.decode()
    assert 'value="Dana Typed"' in page  # what was typed is kept
    assert page.index('name="password"') < page.index('id="id_password_error"') < page.index("</form>")  # beside it
    assert not Membership.objects.filter(user__email="dana@brand.test").exists()
    assert client.get(url).status_code == 200  # the invitation is still open


def test_a_signed_in_user_with_another_email_cannot_take_the_invitation(client, workspace):
    invitation = Invitation.objects.create(workspace=workspace, email="dana@brand.test", role=Role.OWNER)
    eve = make_user("eve@evil.test")
    client.force_login(eve)
    r = client.post(reverse("workspaces:accept_invitation", args=[invitation.token]), follow=True)
    assert b"This invitation is for dana@brand.test" in r.content
    assert not Membership.objects.filter(user=eve).exists()


def test_it_keeps_at_least_one_owner(alice_client, alice, workspace):
    m = Membership.objects.get(user=alice)
    r = alice_client.post(reverse("workspaces:change_role", args=[m.pk]), {"role": "viewer"}, follow=True)
    assert b"at least one owner" in r.content
    m.refresh_from_db()
    assert m.role == Role.OWNER


def test_it_changes_a_role(alice_client, bob, workspace):
    m = Membership.objects.get(user=bob)
    alice_client.post(reverse("workspaces:change_role", args=[m.pk]), {"role": "finance"})
    m.refresh_from_db()
    assert m.role == Role.FINANCE
