"""Changing one's password from the user menu."""

from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.conftest import PASSWORD

NEW_PASSWORD = "a-fresh-start-2026"


def test_the_user_menu_links_to_it(alice_client):
    r = alice_client.get(reverse("reports:dashboard"))
    assert f'href="{reverse("password_change")}"'.encode() in r.content


def test_it_requires_sign_in(client, db):
    r = client.get(reverse("password_change"))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_it_changes_the_password_and_keeps_the_session(alice_client, alice):
    r = alice_client.get(reverse("password_change"))
    assert b"Change password" in r.content and b"Alice Brand" in r.content  # in the workspace's chrome
    r = alice_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert b"Your password was changed" in r.content
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert SESSION_KEY in alice_client.session


def test_it_shows_errors_next_to_the_fields(alice_client, alice):
    r = alice_client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "1234567890", "new_password2": "1234567890"},
    )
    assert r.status_code == 200
    errors = r.context["form"].errors
    assert "old_password" in errors and "new_password1" in errors
    assert b'aria-invalid="true"' in r.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_wrong_old_passwords_count_as_failed_sign_ins(alice_client, alice):
    for _ in range(5):
        r = alice_client.post(
            reverse("password_change"),
            {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    assert b"Too many failed sign-ins" in r.content
    r = alice_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert b"Too many failed sign-ins" in r.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_user_without_a_workspace_can_change_it_too(client, charlie):
    client.force_login(charlie)
    r = client.get(reverse("password_change"))
    assert r.status_code == 200 and b"Change password" in r.content
