"""Old deliveries, attempts, events, link checks and closed alerts are deleted; pending work never is."""

from datetime import timedelta

from django.utils import timezone

from offers.models import Offer
from outbound import services
from outbound.models import Alert, Attempt, Delivery, LinkCheck, Message
from tests.outbound.helpers import make_endpoint


def test_it_deletes_what_is_past_its_keeping_time_and_keeps_pending_deliveries(workspace):
    endpoint, _ = make_endpoint(workspace)
    old = timezone.now() - timedelta(days=40)
    message = Message.objects.create(
        workspace=workspace, topic="payment.sent", payload={}, source="event:1", created_at=old
    )
    done = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="a", status="delivered", created_at=old
    )
    Attempt.objects.create(workspace=workspace, delivery=done, request_url="https://x")
    waiting = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="b", message=message, created_at=old
    )
    recent = Delivery.objects.create(
        workspace=workspace, endpoint=endpoint, topic="payment.sent", msg_id="c", status="failed"
    )
    offer = Offer.objects.create(workspace=workspace, name="O", offer_url="https://shop.test/?t={transaction_id}")
    LinkCheck.objects.create(workspace=workspace, offer=offer, url="u", ok=True, checked_at=old)
    Alert.objects.create(
        workspace=workspace, kind="link_broken", key="k", title="t", closed_at=old - timedelta(days=60)
    )
    counts = services.prune_outbound_all_workspaces()
    assert counts == {"attempts": 1, "deliveries": 1, "events": 1, "link_checks": 0 + 1, "alerts": 1}
    assert set(Delivery.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
