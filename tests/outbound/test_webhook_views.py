"""Webhook settings pages: add (secret shown once), edit, rotate, test, disable/enable, remove, the log."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.urls import reverse

from outbound import services
from outbound.models import Delivery, TargetStatus, WebhookEndpoint
from tests.conftest import set_role
from tests.outbound.helpers import HOOK_URL, make_endpoint

TOPICS = ["conversion.created", "payment.sent"]


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(alice_client, workspace):
    response = alice_client.post(
        reverse("outbound:new_webhook"), {"url": HOOK_URL, "description": "CRM", "topics": TOPICS}
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(workspace=workspace)
    assert endpoint.topics == TOPICS and endpoint.description == "CRM"
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert secret not in endpoint.secrets_encrypted
    page = alice_client.get(reverse("outbound:webhook_detail", kwargs={"code": endpoint.code}))
    assert page.status_code == 200 and secret not in page.content.decode()


@pytest.mark.parametrize(
    "url, error",
    [
        ("http://hooks.example.com/x", "https"),
        ("https://localhost/x", "private"),  # a name the real resolver turns into 127.0.0.1
        ("https://rebind.example.com/x", "private"),
        ("https://mixed.example.com/x", "private"),
        ("https://192.168.1.10/x", "private"),
    ],
)
def test_it_refuses_a_url_that_is_not_public_https_next_to_the_field(alice_client, workspace, url, error):
    response = alice_client.post(reverse("outbound:new_webhook"), {"url": url, "topics": TOPICS})
    assert response.status_code == 200
    assert any(error in e for e in response.context["form"].errors["url"])
    assert not WebhookEndpoint.objects.exists()


def test_it_needs_at_least_one_event(alice_client, workspace):
    response = alice_client.post(reverse("outbound:new_webhook"), {"url": HOOK_URL})
    assert "topics" in response.context["form"].errors


def test_a_manager_can_read_but_not_change_webhooks(bob_client, workspace):
    endpoint, _ = make_endpoint(workspace)
    assert bob_client.get(reverse("outbound:webhook_list")).status_code == 200
    assert bob_client.get(reverse("outbound:webhook_detail", kwargs={"code": endpoint.code})).status_code == 200
    assert bob_client.post(reverse("outbound:new_webhook"), {"url": HOOK_URL, "topics": TOPICS}).status_code == 403
    for name in ("rotate_webhook_secret", "test_webhook", "disable_webhook", "delete_webhook"):
        assert bob_client.post(reverse(f"outbound:{name}", kwargs={"code": endpoint.code})).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, status="active").exists()


def test_the_owner_edits_rotates_tests_disables_enables_and_removes(alice_client, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    kw = {"code": endpoint.code}
    response = alice_client.post(
        reverse("outbound:edit_webhook", kwargs=kw),
        {"url": "https://hooks.example.com/v2", "description": "", "topics": ["alert.opened"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/v2" and endpoint.topics == ["alert.opened"]

    response = alice_client.post(reverse("outbound:rotate_webhook_secret", kwargs=kw), {"overlap_hours": "24"})
    assert response.context["secret"].startswith("whsec_") and "both the old and the new" in response.content.decode()

    alice_client.post(reverse("outbound:test_webhook", kwargs=kw))
    assert Delivery.objects.get(endpoint=endpoint).topic == "webhook.test"

    alice_client.post(reverse("outbound:disable_webhook", kwargs=kw))
    endpoint.refresh_from_db()
    assert endpoint.status == TargetStatus.DISABLED and "alice@brand.test" in endpoint.disabled_reason
    alice_client.post(reverse("outbound:enable_webhook", kwargs=kw))
    endpoint.refresh_from_db()
    assert endpoint.status == TargetStatus.ACTIVE

    assert alice_client.post(reverse("outbound:delete_webhook", kwargs=kw)).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_filters_and_a_delivery_is_resent(alice_client, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    failed = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="msg_a", body="{}", status="failed"
    )
    Delivery.objects.create(workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="msg_b", body="{}")
    page = alice_client.get(reverse("outbound:webhook_detail", kwargs={"code": endpoint.code}), {"status": "failed"})
    assert [d.pk for d in page.context["page"].object_list] == [failed.pk]
    detail = alice_client.get(reverse("outbound:delivery_detail", kwargs={"code": failed.code}))
    assert detail.status_code == 200 and "msg_a" in detail.content.decode()
    alice_client.post(reverse("outbound:resend_delivery", kwargs={"code": failed.code}))
    assert Delivery.objects.filter(resend_of=failed, msg_id="msg_a").count() == 1


def test_a_viewer_cannot_resend(client, bob, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    delivery = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="m", status="failed"
    )
    set_role(bob, workspace, "viewer")
    client.force_login(bob)
    assert client.post(reverse("outbound:resend_delivery", kwargs={"code": delivery.code})).status_code == 403


def test_it_checks_ownership(charlie_client, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    assert charlie_client.get(reverse("outbound:webhook_detail", kwargs={"code": endpoint.code})).status_code == 404
    assert charlie_client.get(reverse("outbound:webhook_list")).context["endpoints"].count() == 0


def test_the_list_explains_an_empty_workspace(alice_client, workspace):
    response = alice_client.get(reverse("outbound:webhook_list"))
    assert "No webhook endpoints yet" in response.content.decode()


def test_the_delivery_log_exports_to_csv(alice_client, workspace):
    endpoint, _ = make_endpoint(workspace)
    Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="msg_csv", last_error="=cmd()"
    )
    response = alice_client.get(reverse("outbound:webhook_deliveries_csv", kwargs={"code": endpoint.code}))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = text.strip().splitlines()
    assert header.startswith("queued_at,event,webhook_id,url,status")
    assert "msg_csv" in row and HOOK_URL in row and "'=cmd()" in row


def test_rotatekeys_re_encrypts_webhook_secrets_too(settings, workspace, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS = [old]
    endpoint, secret = make_endpoint(workspace)
    settings.FERNET_KEYS = [new, old]
    call_command("rotatekeys")
    assert "Re-encrypted 1 credential(s)" in capsys.readouterr().out
    settings.FERNET_KEYS = [new]  # the old key can go now
    endpoint.refresh_from_db()
    assert services.signing_secrets(endpoint) == [secret]
