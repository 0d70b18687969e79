"""Demo review queue (see seeddemo): two sales the fraud rules hold, one converted seconds after its click and
one order reported by both networks. Seeded once: a workspace with review cases is left alone."""

from datetime import timedelta
from decimal import Decimal

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
    clicks = [_unconverted_click(link) for link in links]
    if None in clicks:
        return
    _sale(clicks[0], links[0].offer.connection, seconds=4, order="DEMO-9001")
    first = _sale(clicks[1], links[1].offer.connection, seconds=1800, order="DEMO-9002")
    other = next(c for c in connections if c.pk != first.connection_id)
    _sale(clicks[1], other, seconds=2400, order="DEMO-9002")
    payments.process_conversion_events_all_workspaces()
    evaluate_new_conversion_events_all_workspaces()
    ctx["out"]["held"] = list(Case.objects.filter(workspace=ws).values_list("conversion__external_id", flat=True))


def _unconverted_click(link) -> Click | None:
    """One of the demo's own recent clicks on ``link`` that no sale came from yet."""
    clicks = Click.objects.filter(link=link, is_bot=False, offer_state="active", conversions__isnull=True)
    return clicks.order_by("-created_at").first()


def _sale(click, connection, *, seconds, order):
    data = ConversionData(
        external_id=f"{order}-{connection.kind}",
        transaction_id=click.transaction_id,
        affiliate_id=click.member.affiliate_id,
        sale_amount=Decimal("240.00"),
        network_payout=Decimal("28.80"),
        status="approved",
        currency=connection.currency,
        event_at=click.created_at + timedelta(seconds=seconds),
    )
    log = PostbackLog(network=connection.kind, method="GET", query=f"order_id={order}", params={"order_id": order})
    return record_conversion(
        connection=connection, data=data, source=ConversionSource.POSTBACK, postback=log
    ).conversion
