"""Members with portal logins, and a portal session in a test client."""

import re
from decimal import Decimal
from unittest import mock

from django.core import mail
from django.test import TestCase
from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer
from payments.models import Payment, PaymentBatch
from portal import services
from portal.access import ACCESS_KEY, PERSON_KEY
from portal.models import Person, PortalAccess
from tracking.models import Click, Conversion


def make_access(workspace, *, name: str, email: str) -> PortalAccess:
    member = Member.objects.create(workspace=workspace, name=name, email=email)
    person, _ = Person.objects.get_or_create(email=email)
    return PortalAccess.objects.create(workspace=workspace, member=member, person=person)


def sign_in_as(client, access: PortalAccess):
    session = client.session
    session[PERSON_KEY] = access.person_id
    session[ACCESS_KEY] = access.pk
    session.save()
    return client


def member_rows(member, *, tag: str = "") -> dict:
    """One link, click, conversion and payment of ``member`` (for the isolation registry)."""
    ws = member.workspace
    conn = NetworkConnection.objects.filter(workspace=ws).first() or NetworkConnection.objects.create(
        workspace=ws, kind="impact", label="Impact"
    )
    offer = Offer.objects.filter(workspace=ws).first() or Offer.objects.create(
        workspace=ws,
        name="Spring",
        offer_url="https://shop.test/?t={transaction_id}",
        connection=conn,
        allowed_domains="shop.test",
    )
    link = Link.objects.create(workspace=ws, offer=offer, member=member)
    click = Click.objects.create(
        workspace=ws, transaction_id=f"tx-{member.pk}-{tag}", link=link, offer=offer, member=member
    )
    conversion = Conversion.objects.create(
        workspace=ws,
        connection=conn,
        network="impact",
        dedupe_key=f"tid:{click.transaction_id}",
        transaction_id=click.transaction_id,
        click=click,
        offer=offer,
        member=member,
        source="postback",
        currency="USD",
        sale_amount=Decimal("100.00"),
        member_payout=Decimal("10.00"),
    )
    batch = PaymentBatch.objects.create(
        workspace=ws, idempotency_key=f"run-{member.pk}-{tag}", rail="manual", currency="USD", total=Decimal("5.00")
    )
    payment = Payment.objects.create(
        workspace=ws,
        batch=batch,
        member=member,
        amount=Decimal("5.00"),
        currency="USD",
        rail="manual",
        status="paid",
        paid_on=timezone.localdate(),
        idempotency_key=f"pay-{member.pk}-{tag}",
    )
    return {"offer": offer, "link": link, "click": click, "conversion": conversion, "payment": payment}


def run_email_tasks(call):
    """Run what the worker would for the portal tasks queued inside ``call``; returns call's result."""
    with (
        mock.patch("portal.tasks.send_sign_in_email.delay") as sign_in,
        mock.patch("portal.tasks.send_payout_email_confirmation.delay") as payout,
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        result = call()
    for c in sign_in.call_args_list:
        services.send_sign_in_email(access_ids=c.args[0], purpose=c.args[1])
    for c in payout.call_args_list:
        services.send_payout_email_confirmation(change_id=c.args[0])
    return result


def emailed_path(pattern: str = r"/portal/\S+/sign-in/\S+/") -> str:
    """The path of the latest emailed portal link."""
    body = mail.outbox[-1].body
    return re.search(r"https?://[^/\s]+(" + pattern + ")", body).group(1)
