"""Payout settings: a new PayPal email takes effect only once confirmed from the sign-in mailbox."""

from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.models import PayoutEmailChange
from tests.portal.helpers import emailed_path, run_email_tasks, sign_in_as

CONFIRM = r"/portal/\S+/payout-email/\S+/"


def ask_to_change(client, email):
    return run_email_tasks(
        lambda: client.post(reverse("portal:change_payout_email"), {"paypal_email": email}, follow=True)
    )


def test_a_new_paypal_email_waits_for_confirmation_by_email(client, ava):
    ava.member.paypal_email = "old@paypal.test"
    ava.member.save(update_fields=["paypal_email"])
    sign_in_as(client, ava)
    page = ask_to_change(client, "New@PayPal.test").content.decode()
    assert "We emailed a confirmation link to ava@creators.test" in page
    assert "Waiting for you to confirm <strong>new@paypal.test</strong>" in page
    ava.member.refresh_from_db()
    assert ava.member.paypal_email == "old@paypal.test"  # not yet
    message = mail.outbox[-1]
    assert message.to == ["ava@creators.test"] and "new@paypal.test" in message.body

    # The link works from any browser (the token is the credential), once.
    other = client.__class__()
    path = emailed_path(CONFIRM)
    assert "instead of old@paypal.test" in other.get(path).content.decode()
    assert other.post(path).status_code == 200
    ava.member.refresh_from_db()
    assert ava.member.paypal_email == "new@paypal.test"
    r = other.post(path)
    assert r.status_code == 400 and "used or has expired" in r.content.decode()


def test_an_expired_confirmation_changes_nothing(client, ava):
    sign_in_as(client, ava)
    ask_to_change(client, "new@paypal.test")
    PayoutEmailChange.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post(emailed_path(CONFIRM))
    assert r.status_code == 400
    ava.member.refresh_from_db()
    assert ava.member.paypal_email == ""


def test_another_brands_address_for_the_link_is_refused(client, ava, cleo):
    sign_in_as(client, ava)
    ask_to_change(client, "new@paypal.test")
    path = emailed_path(CONFIRM).replace(f"/portal/{ava.workspace.slug}/", f"/portal/{cleo.workspace.slug}/")
    assert client.post(path).status_code == 400
    ava.member.refresh_from_db()
    assert ava.member.paypal_email == ""


def test_a_bad_address_is_refused_next_to_the_field(client, ava):
    sign_in_as(client, ava)
    r = client.post(reverse("portal:change_payout_email"), {"paypal_email": "not-an-email"})
    assert r.status_code == 400 and r.context["payout_form"].errors["paypal_email"]
    assert not PayoutEmailChange.objects.exists()


def test_notifications_are_on_by_default_and_can_be_turned_off(client, ava):
    assert ava.notify_conversion_approved and ava.notify_payment_sent
    sign_in_as(client, ava)
    client.post(reverse("portal:update_notifications"), {"notify_payment_sent": "on"})
    ava.refresh_from_db()
    assert (ava.notify_conversion_approved, ava.notify_payment_sent) == (False, True)
