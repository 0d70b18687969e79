"""The tax form: stored encrypted, shown masked, and required before paying when the brand says so."""

from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from networks.crypto import decrypt_credentials
from payments import services as payment_services
from portal.models import PortalSettings, TaxForm
from tests.payments.helpers import convert, drain, fund, make_connection
from tests.portal.helpers import sign_in_as

W9 = {
    "kind": "w9",
    "legal_name": "Ava Trails",
    "country": "us",
    "address": "1 Trail Rd, Boulder CO",
    "tax_id": "123-45-6789",
    "signed_name": "Ava Trails",
}


def test_it_stores_the_tax_id_encrypted_and_shows_it_masked(client, alice_client, ava):
    sign_in_as(client, ava)
    r = client.post(reverse("portal:tax_form"), W9)
    assert r.status_code == 302
    form = TaxForm.objects.get(member=ava.member)
    assert "6789" not in form.tax_id_encrypted and "123456789" not in form.tax_id_encrypted
    assert decrypt_credentials(form.tax_id_encrypted) == {"tax_id": "123456789"}
    assert (form.country, form.tax_id_last4) == ("US", "6789")
    for page in (
        client.get(reverse("portal:settings")).content.decode(),
        alice_client.get(reverse("tracking:member_detail", args=[ava.member.code])).content.decode(),
    ):
        assert "•••• 6789" in page and "123-45-6789" not in page and "123456789" not in page


def test_rules_are_explained_next_to_the_field(client, ava):
    sign_in_as(client, ava)
    for change, field in (
        ({"country": "DE"}, "country"),
        ({"kind": "w8ben"}, "kind"),
        ({"signed_name": "Someone Else"}, "signed_name"),
        ({"tax_id": "1-2"}, "tax_id"),
    ):
        r = client.post(reverse("portal:tax_form"), {**W9, **change})
        assert r.status_code == 400 and r.context["form"].errors[field], change
    assert not TaxForm.objects.exists()


def test_a_w8ben_for_someone_abroad(client, ava):
    sign_in_as(client, ava)
    data = {**W9, "kind": "w8ben", "country": "DE", "tax_id": "DE 12345 67890"}
    assert client.post(reverse("portal:tax_form"), data).status_code == 302
    assert TaxForm.objects.get().kind == "w8ben"


def test_make_a_payment_blocks_members_without_a_form_when_required(alice_client, workspace, ava, ben):
    conn = make_connection(workspace)
    for access in (ava, ben):
        access.member.paypal_email = f"{access.member.pk}@paypal.test"
        access.member.save(update_fields=["paypal_email"])
        convert(conn, access.member, sale="100.00", payout="20.00")
    drain()
    fund(workspace, Decimal("100.00"))
    TaxForm.objects.create(
        workspace=workspace,
        member=ava.member,
        kind="w9",
        legal_name="A",
        country="US",
        address="x",
        tax_id_encrypted="x",
        tax_id_last4="1234",
        signed_name="A",
    )
    plan = payment_services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert not plan.blocked_rows  # not required yet

    alice_client.post(reverse("portal_staff:update_settings"), {"require_tax_form": "on"})
    assert PortalSettings.objects.get(workspace=workspace).require_tax_form
    plan = payment_services.plan_payment_run(workspace=workspace, currency="USD", rail="manual")
    assert [r.member for r in plan.payable_rows] == [ava.member]
    assert [(r.member, r.blocked) for r in plan.blocked_rows] == [
        (ben.member, "No tax form on file (this brand requires one before paying).")
    ]
    today = timezone.localdate().isoformat()
    r = alice_client.post(
        reverse("payments:pay"), {"currency": "USD", "rail": "manual", "select_all": "on", "paid_on": today}
    )
    assert r.status_code == 200 and "No tax form on file" in r.content.decode()
    # Even if asked to, the run pays only Ava.
    batch, _ = payment_services.create_payment_run(
        workspace=workspace,
        idempotency_key="k",
        rail="manual",
        currency="USD",
        member_ids=[ava.member.pk, ben.member.pk],
        paid_on=timezone.localdate(),
    )
    assert [p.member for p in batch.payments.all()] == [ava.member]


def test_only_owners_change_the_rule(bob_client, workspace):
    assert bob_client.post(reverse("portal_staff:update_settings"), {"require_tax_form": "on"}).status_code == 403
    assert not PortalSettings.objects.exists()


def test_the_tax_form_page_says_when_the_brand_requires_one(client, ava):
    PortalSettings.objects.create(workspace=ava.workspace, require_tax_form=True)
    sign_in_as(client, ava)
    assert "pays members only once they have a tax form" in client.get(reverse("portal:tax_form")).content.decode()
