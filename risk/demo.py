"""Demo review queue (see seeddemo): two sales the fraud rules hold, one converted seconds after its click and
one order reported by both networks. Seeded once: a workspace with review cases is left alone."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from payments import services as payments
from risk.models import Case
from risk.services import evaluate_new_conversion_events_all_workspaces
from tracking.models import Click, ConversionSource, PostbackLog
from tracking.reported import ConversionData
from tracking.services import record_conversion


def seed(ctx: dict) -> None:
    ws = ctx["workspace"]
    evaluate_new_conversion_events_all_workspaces()  # the rules start after the demo history
    if Case.objects.filter(workspace=ws).exists():
        return
    links = [link for link in ctx.get("links", []) if link.offer.connection_id][:2]
    connections = list((ctx.get("connections") or {}).values())
    if len(links) < 2 or len(connections) < 2:
        return
    now = timezone.now()
    _sale(links[0], links[0].offer.connection, clicked=now - timedelta(minutes=5), seconds=4, order="DEMO-9001")
    first = _sale(
        links[1], links[1].offer.connection, clicked=now - timedelta(hours=3), seconds=1800, order="DEMO-9002"
    )
    other = next(c for c in connections if c.pk != first.connection_id)
    _sale(links[1], other, clicked=now - timedelta(hours=2), seconds=2400, order="DEMO-9002")
    payments.process_conversion_events_all_workspaces()
    evaluate_new_conversion_events_all_workspaces()
    ctx["out"]["held"] = list(Case.objects.filter(workspace=ws).values_list("conversion__external_id", flat=True))


def _sale(link, connection, *, clicked, seconds, order):
    click = Click.objects.create(
        workspace=link.workspace,
        link=link,
        offer=link.offer,
        member=link.member,
        transaction_id=secrets.token_hex(15),
        created_at=clicked,
        ip_hash=secrets.token_hex(16),
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
    )
    data = ConversionData(
        external_id=f"{order}-{connection.kind}",
        transaction_id=click.transaction_id,
        affiliate_id=link.member.affiliate_id,
        sale_amount=Decimal("240.00"),
        network_payout=Decimal("28.80"),
        status="approved",
        currency=connection.currency,
        event_at=clicked + timedelta(seconds=seconds),
    )
    log = PostbackLog(network=connection.kind, method="GET", query=f"order_id={order}", params={"order_id": order})
    return record_conversion(
        connection=connection, data=data, source=ConversionSource.POSTBACK, postback=log
    ).conversion
