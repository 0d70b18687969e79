"""Signing in to the portal with an emailed one-time link."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal import services
from portal.access import ACCESS_KEY
from portal.models import SignInLink
from tests.portal.helpers import emailed_path, make_access, run_email_tasks, sign_in_as


def ask_for_link(client, email):
    return run_email_tasks(lambda: client.post(reverse("portal:sign_in"), {"email": email}))


def test_it_emails_a_link_that_signs_in_once(client, ava, settings):
    settings.SITE_URL = "https://hub.example.test"
    r = ask_for_link(client, "AVA@creators.test")
    assert r.status_code == 200 and b"Check your email" in r.content
    assert mail.outbox[-1].to == ["ava@creators.test"]
    path = emailed_path()
    assert path.startswith("/portal/alice-brand/sign-in/")
    # Opening the link (a mail scanner may) does not spend it; the button does.
    assert b"Sign in" in client.get(path).content
    r = client.post(path)
    assert r.status_code == 302 and r["Location"] == reverse("portal:home")
    assert client.session[ACCESS_KEY] == ava.pk
    assert SESSION_KEY not in client.session  # no staff login
    assert client.get(reverse("portal:home")).status_code == 200

    client.post(reverse("portal:sign_out"))
    r = client.post(path)
    assert r.status_code == 400 and b"already used" in r.content
    assert ACCESS_KEY not in client.session


def test_it_says_the_same_for_an_unknown_address(client, ava):
    r = ask_for_link(client, "nobody@creators.test")
    assert r.status_code == 200 and b"Check your email" in r.content
    assert mail.outbox == []


def test_an_expired_link_is_refused(client, ava):
    url = services.issue_sign_in_link(access=ava, purpose=SignInLink.Purpose.SIGN_IN)
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post(urlsplit(url).path)
    assert r.status_code == 400 and b"expired" in r.content
    assert ACCESS_KEY not in client.session


def test_another_workspaces_link_is_refused(client, ava, cleo):
    # Cleo's link, carried to Ava's brand's portal address, is unknown there.
    url = services.issue_sign_in_link(access=cleo, purpose=SignInLink.Purpose.SIGN_IN)
    token = url.rstrip("/").rsplit("/", 1)[1]
    r = client.post(reverse("portal:redeem", args=[ava.workspace.slug, token]))
    assert r.status_code == 400 and b"not valid" in r.content
    assert ACCESS_KEY not in client.session
    assert SignInLink.objects.get().used_at is None


def test_a_made_up_token_is_refused(client, ava):
    r = client.get(reverse("portal:redeem", args=[ava.workspace.slug, "x" * 43]))
    assert r.status_code == 400 and b"not valid" in r.content


def test_the_link_is_stored_hashed(ava):
    url = services.issue_sign_in_link(access=ava, purpose=SignInLink.Purpose.SIGN_IN)
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert token not in SignInLink.objects.get().token_hash


def test_an_archived_member_cannot_sign_in(client, ava):
    url = services.issue_sign_in_link(access=ava, purpose=SignInLink.Purpose.SIGN_IN)
    ava.member.status = "archived"
    ava.member.save(update_fields=["status"])
    r = client.post(urlsplit(url).path)
    assert r.status_code == 400 and b"archived" in r.content


def test_pages_send_a_visitor_without_session_to_sign_in(client, db):
    r = client.get(reverse("portal:home"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("portal:sign_in"))


def test_one_person_switches_between_brands(client, ava, other_workspace):
    second = make_access(other_workspace, name="Ava T.", email="ava@creators.test")
    assert second.person_id == ava.person_id
    sign_in_as(client, ava)
    page = client.get(reverse("portal:home")).content.decode()
    assert "Charlie Brand" in page and "Alice Brand" in page
    r = client.post(reverse("portal:switch", args=[second.code]))
    assert r.status_code == 302 and client.session[ACCESS_KEY] == second.pk


def test_a_member_cannot_switch_into_someone_elses_login(client, ava, cleo):
    sign_in_as(client, ava)
    assert client.post(reverse("portal:switch", args=[cleo.code])).status_code == 404
    assert client.session[ACCESS_KEY] == ava.pk


def test_sign_in_requests_are_limited_per_address(client, ava):
    for _ in range(7):
        ask_for_link(client, "ava@creators.test")
    assert len(mail.outbox) == 5


@pytest.mark.parametrize(
    "url",
    ["/dashboard/", "/offers/", "/members/", "/payments/", "/settings/", "/account/", "/members/portal/"],
)
def test_a_member_session_never_reaches_staff_pages(client, ava, url):
    sign_in_as(client, ava)
    r = client.get(url)
    assert r.status_code == 302 and r["Location"].startswith(reverse("login")), url


def test_one_email_carries_a_link_for_each_brand(client, ava, other_workspace):
    make_access(other_workspace, name="Ava T.", email="ava@creators.test")
    ask_for_link(client, "ava@creators.test")
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Alice Brand (as Ava Trails)" in body and "Charlie Brand (as Ava T.)" in body
    assert SignInLink.objects.count() == 2
