"""Demo click history (see seeddemo): 30 days of clicks on the demo links.

Seeded once: when the demo workspace already has clicks, nothing is added. Adds
ctx["clicks"] (the demo clicks, oldest first) and ctx["out"]["clicks"] (counts).
Then seed_conversions adds demo conversions on some of those clicks.
"""

import random
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from offers import lib
from tracking.clicks.payload import mint_transaction_id
from tracking.clicks.recording import hash_ip
from tracking.ingest import Hit, process_hit
from tracking.models import Click, Conversion
from tracking.postback_params import sample_values
from workspaces.public_paths import postback_path

DAYS = 30
BROWSERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
]
REFERRERS = ["https://www.instagram.com/", "https://www.youtube.com/", "https://www.tiktok.com/", ""]


def seed(ctx: dict) -> None:
    ws = ctx["workspace"]
    links = ctx.get("links") or []
    existing = Click.objects.filter(workspace=ws)
    if not links or existing.exists():
        ctx["clicks"] = list(existing.order_by("created_at"))
        ctx["out"]["clicks"] = _counts(existing)
        seed_conversions(ctx)
        return

    rng = random.Random(20260115)  # the same history on every fresh demo
    now = timezone.now()
    rows = []
    for link in links:
        # Popular creators get more clicks; the test member almost none.
        weight = 1 if link.member.is_test else rng.choice([2, 4, 6, 9])
        seen = set()
        for day in range(DAYS, 0, -1):
            for _ in range(rng.randint(0, weight)):
                when = now - timedelta(days=day, seconds=rng.randint(0, 86399))
                visitor = rng.randint(1, 40)
                bot = rng.random() < 0.06
                ua = rng.choice(BOTS) if bot else BROWSERS[visitor % len(BROWSERS)]
                ip = f"198.51.100.{visitor}"
                # First click per visitor per day counts as unique (the redirect's 24-hour window).
                unique = not bot and (visitor, day) not in seen
                if unique:
                    seen.add((visitor, day))
                tid = mint_transaction_id(when)
                # Three days when the stoves offer was paused show up in the off-state report.
                paused = link.offer.fallback_url.endswith("/stoves") and 10 <= day < 13
                if paused:
                    destination = lib.build_inactive_destination(link.offer, link)
                else:
                    destination = lib.build_destination(link.offer, link, link.member, tid, when)
                rows.append(
                    Click(
                        workspace=ws,
                        transaction_id=tid,
                        link=link,
                        offer=link.offer,
                        member=link.member,
                        created_at=when,
                        ip_hash=hash_ip(ip),
                        user_agent=ua,
                        referrer=rng.choice(REFERRERS),
                        is_unique=unique,
                        is_bot=bot,
                        offer_state="paused" if paused else "active",
                        destination=destination,
                    )
                )
    Click.objects.bulk_create(rows, batch_size=1000)
    ctx["clicks"] = sorted(rows, key=lambda c: c.created_at)
    ctx["out"]["clicks"] = _counts(Click.objects.filter(workspace=ws))
    seed_conversions(ctx)


def _counts(qs) -> dict:
    return {
        "total": qs.count(),
        "unique": qs.filter(is_unique=True).count(),
        "bots": qs.filter(is_bot=True).count(),
    }


# --- demo conversions -------------------------------------------------------

DEMO_CONVERSIONS = 14


def seed_conversions(ctx: dict) -> None:
    """Conversions on some demo clicks, recorded through the real postback pipeline.

    Pending, approved and reversed ones, one with an unknown transaction id
    (unattributed), each with its postback log rows. Seeded once: when the demo
    workspace has conversions, nothing is added. Adds ctx["out"]["postback_urls"]
    (one per connection) and ctx["out"]["conversions"] (counts by status).
    """
    ws = ctx["workspace"]
    connections = ctx.get("connections") or {}
    ctx["out"]["postback_urls"] = {
        kind: settings.SITE_URL + postback_path(kind, conn.postback_secret) for kind, conn in connections.items()
    }
    if not Conversion.objects.filter(workspace=ws).exists():
        _seed_conversions(ctx.get("clicks") or [])
    counts = {}
    for status in Conversion.objects.filter(workspace=ws).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    counts["unattributed"] = Conversion.objects.filter(workspace=ws, member__isnull=True).count()
    ctx["out"]["conversions"] = counts


def _seed_conversions(clicks) -> None:
    rng = random.Random(20260116)
    now = timezone.now()
    candidates = [c for c in clicks if not c.is_bot and c.offer.connection_id and not c.member.is_test]
    chosen = rng.sample(candidates, min(DEMO_CONVERSIONS, len(candidates)))

    def fire(click, connection, values):
        hit = Hit(method="GET", query=urlencode(values), body=b"", content_type="", source_ip="192.0.2.10")
        return process_hit(connection=connection, hit=hit, is_pixel=False, source="postback", check_access=False)

    with_status = 0
    for i, click in enumerate(chosen):
        connection = click.offer.connection
        event_at = min(click.created_at + timedelta(hours=rng.randint(1, 30)), now)
        order_id = f"1000.4636.{158200 + i}" if connection.kind == "impact" else str(170000200 + i)
        values = sample_values(
            connection.kind,
            protocol=click.offer.protocol,
            transaction_id=click.transaction_id,
            affiliate_id=click.member.affiliate_id,
            order_id=order_id,
            currency=connection.currency,
            now=event_at,
        )
        sale = Decimal(rng.randint(2000, 25000)) / 100
        for name in values:
            if name.lower() in ("amount", "amountofsale", "sale_amount"):
                values[name] = str(sale)
            elif name.lower() in ("payout", "commission"):
                values[name] = str((sale * Decimal("0.08")).quantize(Decimal("0.01")))
        fire(click, connection, values)
        # Networks that report statuses: some sales approved, some approved then reversed (returns).
        key = next((name for name in values if name.lower() == "status"), None)
        if key:
            step = with_status % 4
            with_status += 1
            approved, reversed_ = ("APPROVED", "REVERSED") if connection.kind == "impact" else ("approved", "reversed")
            if step in (1, 2):
                fire(click, connection, {**values, key: approved})
            if step == 2:
                fire(click, connection, {**values, key: reversed_})

    if chosen:
        # A sale whose click we never saw: kept unattributed until a manager attributes it.
        connection = chosen[0].offer.connection
        values = sample_values(
            connection.kind,
            transaction_id="lost-demo-click-0001",
            affiliate_id="",
            order_id="DEMO-UNKNOWN-1",
            currency=connection.currency,
            now=now - timedelta(days=2),
        )
        fire(None, connection, {k: v for k, v in values.items() if v})
