"""Alerts: each opens once, stays open while its condition holds, closes by itself; thresholds are the owner's."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from networks.models import NetworkClickCount, SyncRun
from offers.models import Link
from outbound import services
from outbound.models import Alert, Delivery, LinkCheck
from payments.models import Payment, PaymentBatch, Settlement
from tests.conftest import set_role
from tests.outbound.helpers import make_endpoint, start_cursors
from tests.tracking.postback_world import make_click, make_connection, make_member, make_offer
from tracking.models import Click, PostbackLog
from workspaces.models import Event


@pytest.fixture(autouse=True)
def cursors(db):
    start_cursors()


def evaluate(workspace, **kw):
    return services.evaluate_alerts(workspace=workspace, **kw)


def open_kinds(workspace):
    return sorted(Alert.objects.filter(workspace=workspace, closed_at=None).values_list("kind", flat=True))


def test_a_broken_connection_opens_one_alert_emails_once_and_closes_when_repaired(
    workspace, django_capture_on_commit_callbacks
):
    conn = make_connection(workspace, status="broken", status_message="401 from Impact")
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate(workspace) == (1, 0)
        assert evaluate(workspace) == (0, 0)  # still broken: the same alert, no storm
    alert = Alert.objects.get()
    assert alert.kind == "connection_broken" and "401 from Impact" in alert.detail and alert.is_open
    assert Event.objects.filter(topic="alert.opened").count() == 1
    assert len(mail.outbox) == 1 and conn.label in mail.outbox[0].subject
    conn.status = "active"
    conn.save(update_fields=["status"])
    assert evaluate(workspace) == (0, 1)
    alert.refresh_from_db()
    assert not alert.is_open
    assert evaluate(workspace) == (0, 0)


def test_an_opened_alert_reaches_subscribed_webhooks(workspace, queued):
    endpoint, _ = make_endpoint(workspace, topics=["alert.opened"])
    make_connection(workspace, status="broken")
    evaluate(workspace)
    services.pump_outbox_all_workspaces()
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.topic == "alert.opened" and "connection_broken" in delivery.body


def test_a_settlement_overdue_follows_the_owners_threshold(workspace):
    conn = make_connection(workspace)
    Settlement.objects.create(
        workspace=workspace,
        connection=conn,
        currency="USD",
        cut_off=timezone.now(),
        expected_on=timezone.localdate() - timedelta(days=7),
    )
    evaluate(workspace)
    assert open_kinds(workspace) == ["settlement_overdue"]
    services.update_alert_settings(workspace=workspace, settlement_overdue_days=10)
    evaluate(workspace)
    assert open_kinds(workspace) == []


def test_a_returned_payment_is_an_alert_until_it_is_retried(workspace):
    member = make_member(workspace)

    def pay(status, key, **kw):
        batch = PaymentBatch.objects.create(workspace=workspace, idempotency_key=key, rail="manual", currency="USD")
        return Payment.objects.create(
            workspace=workspace,
            batch=batch,
            member=member,
            amount=Decimal("5.00"),
            currency="USD",
            rail="manual",
            status=status,
            idempotency_key=key,
            **kw,
        )

    returned = pay("returned", "p1")
    evaluate(workspace)
    assert open_kinds(workspace) == ["payment_returned"]
    pay("paid", "p2", retry_of=returned)
    evaluate(workspace)
    assert open_kinds(workspace) == []


def postbacks(workspace, conn, outcomes, at):
    PostbackLog.objects.bulk_create(
        PostbackLog(workspace=workspace, connection=conn, network="impact", method="GET", outcome=o, received_at=at)
        for o in outcomes
    )


def test_rejected_postbacks_above_the_threshold_in_an_hour(workspace):
    conn = make_connection(workspace)
    now = timezone.now()
    postbacks(workspace, conn, ["accepted"] * 7 + ["rejected", "rejected", "unattributed"], now - timedelta(minutes=5))
    evaluate(workspace)  # 30 % > 25 %
    assert open_kinds(workspace) == ["postback_rejects"]
    services.update_alert_settings(workspace=workspace, postback_reject_percent=40)
    evaluate(workspace)
    assert open_kinds(workspace) == []


def test_silence_from_a_connection_that_usually_sends_postbacks(workspace):
    conn = make_connection(workspace)
    now = timezone.now()
    for days in (2, 3, 4):
        postbacks(workspace, conn, ["accepted"], now - timedelta(days=days))
    evaluate(workspace)  # the last one came 2 days ago, more than 24 hours
    assert open_kinds(workspace) == ["postback_silence"]
    postbacks(workspace, conn, ["accepted"], now - timedelta(hours=1))
    evaluate(workspace)
    assert open_kinds(workspace) == []


def test_a_connection_that_rarely_sends_postbacks_is_not_silent(workspace):
    conn = make_connection(workspace)
    postbacks(workspace, conn, ["accepted"], timezone.now() - timedelta(days=3))
    evaluate(workspace)
    assert open_kinds(workspace) == []


def test_tracking_loss_when_our_clicks_and_the_networks_differ(workspace):
    conn = make_connection(workspace)
    offer = make_offer(workspace, conn)
    member = make_member(workspace)
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    yesterday = timezone.localdate() - timedelta(days=1)
    at = timezone.now().replace(year=yesterday.year, month=yesterday.month, day=yesterday.day, hour=12)
    for _ in range(50):
        click = make_click(link)
        Click.objects.filter(pk=click.pk).update(created_at=at)
    NetworkClickCount.objects.create(
        workspace=workspace, connection=conn, program_id="1", date=yesterday, sub_id1="", clicks=100
    )
    evaluate(workspace)  # 50 of 100: 50 % apart
    alert = Alert.objects.get(closed_at=None)
    assert alert.kind == "tracking_loss" and "50 clicks here, 100" in alert.detail
    services.update_alert_settings(workspace=workspace, tracking_loss_percent=60)
    evaluate(workspace)
    assert open_kinds(workspace) == []


def test_a_sync_kind_without_success_for_twice_its_schedule(workspace):
    conn = make_connection(workspace, credentials_encrypted="sealed", account_sid="AC1")
    old = timezone.now() - timedelta(days=3)
    type(conn).objects.filter(pk=conn.pk).update(created_at=old)
    for kind in ("actions", "updates", "clicks"):
        SyncRun.objects.create(
            workspace=workspace, connection=conn, kind=kind, status="succeeded", finished_at=timezone.now()
        )
    evaluate(workspace)
    assert open_kinds(workspace) == []
    SyncRun.objects.filter(connection=conn, kind="actions").update(finished_at=timezone.now() - timedelta(hours=3))
    evaluate(workspace)  # actions run hourly: 3 hours is more than twice that
    assert open_kinds(workspace) == ["sync_stale"]


def test_a_broken_offer_link_is_flagged_and_opens_an_alert_until_a_check_passes(alice_client, workspace):
    conn = make_connection(workspace)
    offer = make_offer(workspace, conn)
    LinkCheck.objects.create(workspace=workspace, offer=offer, url="https://x", ok=False, problem="answered 404")
    evaluate(workspace)
    assert open_kinds(workspace) == ["link_broken"]
    page = alice_client.get(reverse("tracking:offer_detail", kwargs={"code": offer.code})).content.decode()
    assert 'id="link-broken"' in page and "answered 404" in page
    LinkCheck.objects.create(
        workspace=workspace, offer=offer, url="https://x", ok=True, checked_at=timezone.now() + timedelta(hours=1)
    )
    evaluate(workspace)
    assert open_kinds(workspace) == []
    page = alice_client.get(reverse("tracking:offer_detail", kwargs={"code": offer.code})).content.decode()
    assert 'id="link-broken"' not in page


def test_the_dashboard_and_the_alert_list_show_open_alerts(alice_client, workspace):
    make_connection(workspace, label="Impact US", status="broken")
    evaluate(workspace)
    dashboard = alice_client.get(reverse("reports:dashboard")).content.decode()
    assert "1 open alert" in dashboard and "Impact US: the connection is broken" in dashboard
    page = alice_client.get(reverse("outbound:alerts"))
    assert page.status_code == 200 and "Impact US" in page.content.decode()


def test_only_the_owner_changes_thresholds_and_bad_values_are_shown_by_the_field(alice_client, client, bob, workspace):
    form = {
        "tracking_loss_percent": "30",
        "postback_reject_percent": "200",
        "postback_silence_hours": "12",
        "settlement_overdue_days": "3",
        "email_owners": "on",
    }
    response = alice_client.post(reverse("outbound:update_alert_settings"), form)
    assert response.status_code == 200 and "postback_reject_percent" in response.context["form"].errors
    form["postback_reject_percent"] = "50"
    assert alice_client.post(reverse("outbound:update_alert_settings"), form).status_code == 302
    config = services.settings_for(workspace)
    assert (config.tracking_loss_percent, config.postback_reject_percent, config.link_auto_fallback) == (30, 50, False)
    set_role(bob, workspace, "manager")
    client.force_login(bob)
    assert client.post(reverse("outbound:update_alert_settings"), form).status_code == 403
    assert "Only owners change the thresholds" in client.get(reverse("outbound:alerts")).content.decode()


def test_check_now_queues_a_check_for_managers_only(client, bob, workspace, monkeypatch):
    from outbound import tasks

    queued = []
    monkeypatch.setattr(tasks.check_offer_links, "delay", queued.append)
    offer = make_offer(workspace, make_connection(workspace))
    client.force_login(bob)
    url = reverse("outbound:check_offer_links", kwargs={"code": offer.code})
    assert client.post(url).status_code == 302 and queued == [offer.pk]
    set_role(bob, workspace, "viewer")
    assert client.post(url).status_code == 403
    page = client.get(reverse("tracking:offer_detail", kwargs={"code": offer.code})).content.decode()
    assert "Link health" in page and "Not checked yet" in page
