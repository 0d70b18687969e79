"""Emails to members: a conversion approved, a payment sent; on by default, each can be turned off."""

from decimal import Decimal

from django.core import mail
from django.utils import timezone

from payments import services as payment_services
from portal import services
from portal.models import Notification
from tests.payments.helpers import drain, fund, make_connection
from tests.portal.helpers import member_rows
from tracking.services import change_conversion_status


def deliver():
    services.collect_notifications_all_workspaces()
    return services.send_notifications_all_workspaces()


def test_an_approved_conversion_is_emailed_once(ava, ben):
    deliver()  # the readers start after what is already there
    rows = member_rows(ava.member)
    member_rows(ben.member, tag="ben")  # Ben's stays pending
    change_conversion_status(conversion=rows["conversion"], status="approved", reason="", actor="alice")
    assert deliver() == 1
    message = mail.outbox[-1]
    assert message.to == ["ava@creators.test"]
    assert message.subject == "Alice Brand approved a sale: 10.00 USD for you"
    assert "on Spring" in message.body
    assert deliver() == 0 and len(mail.outbox) == 1


def test_a_member_who_turned_it_off_gets_nothing(ava):
    deliver()
    ava.notify_conversion_approved = False
    ava.save(update_fields=["notify_conversion_approved"])
    rows = member_rows(ava.member)
    change_conversion_status(conversion=rows["conversion"], status="approved", reason="", actor="alice")
    assert deliver() == 0 and mail.outbox == []
    assert not Notification.objects.exists()


def test_a_payment_sent_is_emailed(workspace, ava, ben):
    deliver()
    conn = make_connection(workspace)
    rows = member_rows(ava.member)
    change_conversion_status(conversion=rows["conversion"], status="approved", reason="", actor="alice")
    drain()
    fund(workspace, Decimal("50.00"), connection=conn)
    ben.notify_payment_sent = False
    ben.save(update_fields=["notify_payment_sent"])
    payment_services.create_payment_run(
        workspace=workspace,
        idempotency_key="run-1",
        rail="manual",
        currency="USD",
        member_ids=[ava.member.pk],
        paid_on=timezone.localdate(),
    )
    deliver()
    subjects = [m.subject for m in mail.outbox]
    assert "Alice Brand sent you 10.00 USD" in subjects
    assert Notification.objects.filter(kind="payment_sent").count() == 1
