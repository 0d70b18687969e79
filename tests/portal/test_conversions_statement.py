"""Conversions (filters, CSV) and the statement, payment history and payments of one member."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from payments import services as payment_services
from tests.portal.helpers import member_rows, sign_in_as
from tracking.models import Conversion
from tracking.services import change_conversion_status


def test_conversions_list_only_ones_own_with_filters(client, ava, ben):
    mine = member_rows(ava.member)
    member_rows(ben.member, tag="ben")
    old = Conversion.objects.create(
        workspace=ava.workspace,
        network="impact",
        dedupe_key="tid:old",
        transaction_id="old",
        offer=mine["offer"],
        member=ava.member,
        source="postback",
        currency="USD",
        status="approved",
        member_payout=Decimal("4.00"),
        event_at=timezone.now() - timedelta(days=40),
    )
    sign_in_as(client, ava)
    r = client.get(reverse("portal:conversions"))
    assert list(r.context["page"].object_list) == [mine["conversion"], old]
    r = client.get(reverse("portal:conversions"), {"status": "approved"})
    assert list(r.context["page"].object_list) == [old]
    since = (timezone.localdate() - timedelta(days=5)).isoformat()
    r = client.get(reverse("portal:conversions"), {"start": since})
    assert list(r.context["page"].object_list) == [mine["conversion"]]
    r = client.get(reverse("portal:conversions"), {"status": "rejected"})
    assert "No conversion matches these filters" in r.content.decode()


def test_conversions_export_to_csv_with_the_same_filters(client, ava, ben):
    mine = member_rows(ava.member)
    member_rows(ben.member, tag="ben")
    sign_in_as(client, ava)
    r = client.get(reverse("portal:conversions_csv"), {"status": "pending"})
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["date", "offer", "status", "sale_amount", "payout"]
    assert [row[-1] for row in rows[1:]] == [str(mine["conversion"].code)]
    assert rows[1][4] == "10.00"


def test_the_statement_matches_the_brands_member_statement(client, alice_client, ava, ben):
    rows = member_rows(ava.member)
    member_rows(ben.member, tag="ben")
    conversion = rows["conversion"]
    # Approve it and let the ledger post it, as the outbox consumer does.
    change_conversion_status(conversion=conversion, status="approved", reason="", actor="alice")
    payment_services.process_conversion_events_all_workspaces(limit=100)
    brand = alice_client.get(reverse("payments:statement", args=[ava.member.code])).context
    sign_in_as(client, ava)
    r = client.get(reverse("portal:statement"))
    assert r.context["balances"] == brand["balances"] == {"USD": Decimal("10.00")}
    assert [line["balance"] for line in r.context["lines"]] == [line["balance"] for line in brand["lines"]]
    page = r.content.decode()
    assert 'id="payable-USD">10.00<' in page
    assert list(r.context["payments"]) == [rows["payment"]]
    assert reverse("portal:payment_detail", args=[rows["payment"].code]) in page


def test_a_payment_of_ones_own_opens(client, ava):
    rows = member_rows(ava.member)
    sign_in_as(client, ava)
    page = client.get(reverse("portal:payment_detail", args=[rows["payment"].code])).content.decode()
    assert "Payment of 5.00 USD" in page


def test_empty_pages_say_what_comes_there(client, ava):
    sign_in_as(client, ava)
    assert "No conversions yet" in client.get(reverse("portal:conversions")).content.decode()
    page = client.get(reverse("portal:statement")).content.decode()
    assert "No payment yet" in page and "Nothing earned yet" in page
