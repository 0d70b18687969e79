"""Resetting a forgotten password by email."""

import re
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD
from workspaces import services

NEW_PASSWORD = "a-fresh-start-2026"


def request_reset(client, email, django_capture_on_commit_callbacks):
    """Ask for the email and run what the worker would run."""
    with mock.patch("workspaces.tasks.send_password_reset.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(reverse("password_reset"), {"email": email})
    for call in delay.call_args_list:
        services.send_password_reset(user_id=call.args[0])
    return r


def reset_link() -> str:
    body = mail.outbox[-1].body
    return re.search(r"https://hub\.example\.test(/\S+)", body).group(1)


def test_the_login_page_links_to_the_reset(client, db):
    r = client.get(reverse("login"))
    assert f'href="{reverse("password_reset")}"'.encode() in r.content


def test_it_emails_a_link_that_works_once(client, alice, workspace, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://hub.example.test"
    r = request_reset(client, "Alice@Brand.test", django_capture_on_commit_callbacks)
    assert r.status_code == 302 and r["Location"] == reverse("password_reset_done")
    assert b"If an account uses that address" in client.get(r["Location"]).content

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@brand.test"]
    assert message.subject == "Reset your password for the affiliate tracking hub"
    link = reset_link()
    assert f'href="https://hub.example.test{link}"' in message.alternatives[0][0]
    assert "expires in 2 hours" in message.body

    r = client.get(link, follow=True)
    assert b"Choose a new password" in r.content
    set_url = r.redirect_chain[-1][0]
    r = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert r.status_code == 302 and r["Location"] == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)

    # Spent: the same link now says so and changes nothing.
    r = client.get(link, follow=True)
    assert b"This reset link has been used or has expired" in r.content
    assert b"Choose a new password" not in r.content


def test_it_refuses_a_weak_new_password(client, alice, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://hub.example.test"
    request_reset(client, "alice@brand.test", django_capture_on_commit_callbacks)
    set_url = client.get(reset_link(), follow=True).redirect_chain[-1][0]
    r = client.post(set_url, {"new_password1": "1234567890", "new_password2": "1234567890"})
    assert r.status_code == 200
    assert r.context["form"].errors["new_password1"]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, db, django_capture_on_commit_callbacks):
    r = request_reset(client, "nobody@brand.test", django_capture_on_commit_callbacks)
    assert r.status_code == 302 and r["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_reset_lifts_the_accounts_sign_in_lock(
    client, alice, workspace, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://hub.example.test"
    for _ in range(5):
        client.post("/login/", {"username": "alice@brand.test", "password": "wrong"})
    request_reset(client, "alice@brand.test", django_capture_on_commit_callbacks)
    set_url = client.get(reset_link(), follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    r = client.post("/login/", {"username": "alice@brand.test", "password": NEW_PASSWORD})
    assert r.status_code == 302 and SESSION_KEY in client.session
