"""Demo click history (see seed_demo): 30 days of clicks on the demo links.

Seeded once: when the demo workspace already has clicks, nothing is added. Adds
ctx["clicks"] (the demo clicks, oldest first) and ctx["out"]["clicks"] (counts).
"""

import random
from datetime import timedelta

from django.utils import timezone

from offers import lib
from tracking import clicks as click_services
from tracking.models import Click

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
                tid = click_services.new_transaction_id()
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
                        ip_hash=click_services.hash_ip(ip),
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


def _counts(qs) -> dict:
    return {
        "total": qs.count(),
        "unique": qs.filter(is_unique=True).count(),
        "bots": qs.filter(is_bot=True).count(),
    }
