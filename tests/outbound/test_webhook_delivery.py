"""Webhooks: from a conversion change in the outbox to a signed request, retried, ordered, disabled."""

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import respx
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from outbound import services
from outbound.lib import MAX_ATTEMPTS
from outbound.models import Attempt, Delivery, Message, TargetStatus
from tests.outbound.helpers import HOOK_URL, make_endpoint, start_cursors
from tests.tracking.postback_world import make_world
from tracking.models import PostbackLog
from tracking.reported import ConversionData
from tracking.services import change_conversion_status, record_conversion


def convert(world, external_id="A1", amount="40"):
    return record_conversion(
        connection=world["connection"],
        data=ConversionData(
            external_id=external_id, transaction_id=world["click"].transaction_id, sale_amount=Decimal(amount)
        ),
        source="postback",
        postback=PostbackLog(network="impact", method="GET", query=f"oid={external_id}"),
    ).conversion


def deliver(endpoint):
    return services.deliver_target(kind="endpoint", target_id=endpoint.pk)


@pytest.fixture
def world(workspace):
    start_cursors()
    return make_world(workspace, allow_multiple_conversions=True)


@respx.mock
def test_a_conversion_reaches_the_endpoint_signed_by_the_standard(
    world, workspace, queued, django_capture_on_commit_callbacks
):
    endpoint, secret = make_endpoint(workspace)
    route = respx.post(HOOK_URL).respond(204)
    conversion = convert(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.pump_outbox_all_workspaces()
    assert queued == [("endpoint", endpoint.pk)]
    assert deliver(endpoint) == 1

    request = route.calls.last.request
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    payload = Webhook(secret).verify(request.content, headers)
    assert payload["type"] == "conversion.created"
    assert payload["data"]["id"] == str(conversion.code)
    assert payload["data"]["transaction_id"] == world["click"].transaction_id
    assert payload["data"]["member"]["affiliate_id"] == world["member"].affiliate_id
    assert payload["data"]["sale_amount"] == "40.00"
    message = Message.objects.get(workspace=workspace)
    assert headers["webhook-id"] == message.msg_id
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == "delivered" and delivery.attempts == 1
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code == 204 and attempt.request_url == HOOK_URL


@respx.mock
def test_each_change_has_its_topic(world, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    route = respx.post(HOOK_URL).respond(200)
    conversion = convert(world)
    change_conversion_status(conversion=conversion, status="approved", actor="alice")
    change_conversion_status(conversion=conversion, status="reversed", actor="alice")
    services.pump_outbox_all_workspaces()
    deliver(endpoint)
    types = [json.loads(call.request.content)["type"] for call in route.calls]
    assert types == ["conversion.created", "conversion.updated", "conversion.reversed"]
    last = json.loads(route.calls.last.request.content)["data"]
    assert last["status"] == "reversed" and last["previous"]["status"] == "approved"


def test_an_endpoint_gets_only_the_events_it_asked_for(world, workspace, queued):
    endpoint, _ = make_endpoint(workspace, topics=["conversion.reversed"])
    convert(world)
    services.pump_outbox_all_workspaces()
    assert Message.objects.filter(workspace=workspace).count() == 1
    assert not Delivery.objects.filter(endpoint=endpoint).exists()


def test_a_rolled_back_change_sends_nothing(world, workspace, queued):
    make_endpoint(workspace)
    with transaction.atomic():
        convert(world)
        transaction.set_rollback(True)
    assert services.pump_outbox_all_workspaces() == 0
    assert not Message.objects.exists() and not Delivery.objects.exists()


@respx.mock
def test_a_failure_is_retried_later_with_backoff_and_logged(world, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    route = respx.post(HOOK_URL).mock(side_effect=[httpx.Response(500, text="boom " * 200), httpx.Response(200)])
    convert(world)
    services.pump_outbox_all_workspaces()
    before = timezone.now()
    assert deliver(endpoint) == 0
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    assert before + timedelta(seconds=3) < delivery.next_attempt_at < before + timedelta(seconds=7)
    attempt = Attempt.objects.get(delivery=delivery)
    assert (
        attempt.error == "Answered 500"
        and attempt.response_excerpt.startswith("boom")
        and len(attempt.response_excerpt) <= 501
    )
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    # Not due yet: nothing is sent.
    deliver(endpoint)
    assert route.call_count == 1
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert deliver(endpoint) == 1
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2 and endpoint.failing_since is None


@respx.mock
def test_after_a_day_of_failures_the_endpoint_is_disabled_and_the_owner_emailed(
    world, workspace, queued, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(workspace)
    respx.post(HOOK_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    convert(world)
    services.pump_outbox_all_workspaces()
    Delivery.objects.filter(endpoint=endpoint).update(attempts=MAX_ATTEMPTS - 1)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(endpoint)
    delivery = Delivery.objects.get(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS
    assert endpoint.status == TargetStatus.DISABLED and "failed attempts" in endpoint.disabled_reason
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@brand.test"]
    assert endpoint.url in mail.outbox[0].body
    # Disabled: later events are not queued for it, and a run does nothing.
    convert(world, external_id="A2", amount="9")
    services.pump_outbox_all_workspaces()
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1
    assert deliver(endpoint) == 0


@respx.mock
def test_deliveries_to_one_endpoint_keep_their_order(world, workspace, queued):
    endpoint, _ = make_endpoint(workspace)
    answers = iter([500, 200, 200, 200])
    route = respx.post(HOOK_URL).mock(side_effect=lambda request: httpx.Response(next(answers)))
    for n in range(3):
        convert(world, external_id=f"A{n}", amount=str(10 + n))
    services.pump_outbox_all_workspaces()
    deliver(endpoint)
    # The first failed: the two behind it wait for it.
    assert route.call_count == 1
    Delivery.objects.filter(endpoint=endpoint).update(next_attempt_at=timezone.now())
    deliver(endpoint)
    amounts = [json.loads(c.request.content)["data"]["sale_amount"] for c in route.calls]
    assert amounts == ["10.00", "10.00", "11.00", "12.00"]


@respx.mock
def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_delivery(world, workspace, queued, fake_dns):
    fake_dns["rebind.example.com"] = ["93.184.216.36"]
    endpoint, _ = make_endpoint(workspace, url="https://rebind.example.com/in")
    route = respx.post("https://rebind.example.com/in").respond(200)
    convert(world)
    services.pump_outbox_all_workspaces()
    fake_dns["rebind.example.com"] = ["10.0.0.7"]
    deliver(endpoint)
    assert not route.called
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and "private" in attempt.error


@respx.mock
def test_a_delivery_can_be_resent_with_the_same_webhook_id(world, workspace, queued):
    endpoint, secret = make_endpoint(workspace)
    route = respx.post(HOOK_URL).respond(200)
    convert(world)
    services.pump_outbox_all_workspaces()
    deliver(endpoint)
    first = Delivery.objects.get(endpoint=endpoint)
    copy = services.resend_delivery(delivery=first)
    deliver(endpoint)
    copy.refresh_from_db()
    assert copy.status == "delivered" and copy.resend_of == first
    ids = [c.request.headers["webhook-id"] for c in route.calls]
    assert ids == [first.msg_id, first.msg_id]


@respx.mock
def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(workspace, queued):
    endpoint, old = make_endpoint(workspace)
    new = services.rotate_secret(endpoint=endpoint, overlap=timedelta(hours=2))
    route = respx.post(HOOK_URL).respond(200)
    services.send_test_event(endpoint=endpoint)
    deliver(endpoint)
    request = route.calls.last.request
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    for secret in (old, new):
        assert Webhook(secret).verify(request.content, headers)["type"] == "webhook.test"
    endpoint.refresh_from_db()
    endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    endpoint.save(update_fields=["previous_secret_expires_at"])
    assert services.signing_secrets(endpoint) == [new]


def test_the_sweeper_wakes_endpoints_with_due_deliveries_only(world, workspace, queued):
    due, _ = make_endpoint(workspace)
    later, _ = make_endpoint(workspace, url="https://hooks.example.com/later")
    convert(world)
    services.pump_outbox_all_workspaces()
    queued.clear()
    Delivery.objects.filter(endpoint=later).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert services.wake_due_targets_all_workspaces() == 1
    assert queued == [("endpoint", due.pk)]


def test_enabling_again_restarts_the_retries_of_what_waited_and_a_manual_disable_sends_no_email(
    world, workspace, queued, django_capture_on_commit_callbacks
):
    endpoint, _ = make_endpoint(workspace)
    convert(world)
    services.pump_outbox_all_workspaces()
    Delivery.objects.filter(endpoint=endpoint).update(attempts=5, next_attempt_at=timezone.now() + timedelta(hours=9))
    with django_capture_on_commit_callbacks(execute=True):
        services.disable_endpoint(endpoint=endpoint, actor="alice@brand.test")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.enable_target(target=endpoint)
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.attempts == 0 and delivery.next_attempt_at <= timezone.now()
    assert queued[-1] == ("endpoint", endpoint.pk)
