"""Every CSV download is safe to open in a spreadsheet.

The exports are found, not listed: every URL of the site is requested (with ``?format=csv``,
which the reports use) as the workspace owner, and every answer that is a CSV is checked. A
new export anywhere is checked without anyone adding it here.
"""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from cpc.services import post_paid_clicks, set_click_rate
from networks.models import NetworkClickCount
from offers.models import PayoutType, PromoCode
from reports.rollups import rebuild_rollups
from risk.models import Verdict
from risk.services import hold_conversion
from tests.outsider import CASES, build_world
from tests.payments.helpers import convert, drain
from tests.reports.reportdata import at, build_report_world
from tracking.models import PostbackLog

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Exports known today: discovery must find at least these (it finds new ones by itself).
KNOWN = {
    "reports:export_members",
    "reports:export_links",
    "tracking:export_conversions",
    "payments:ledger_csv",
    "reports:members",
    "reports:offers",
    "reports:days",
    "reports:risk",
    "reports:off_state",
    "reports:network_clicks",
    "reports:postbacks",
    "risk:queue_csv",
    "reports:channels",
    "offers:export_promo_codes",
    "cpc:paid_clicks",
}
# Exports with no text a user or network could write: only days, counts, money and the hub's own
# words (a delivery's event name and status, and the https URL its form accepted).
NUMBERS_ONLY = {
    "reports:days",
    "reports:postbacks",
    "outbound:webhook_deliveries_csv",
    "outbound:member_postback_deliveries_csv",
    "portal:postback_deliveries_csv",
}


def _patterns(resolver=None, namespace=""):
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}".strip(":") if p.namespace else namespace
            yield from _patterns(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield (f"{namespace}:{p.name}" if namespace else p.name), p


def hostile_world(workspace, alice) -> dict:
    """The report world with members, offers, project and network named like formulas."""
    w = build_report_world(workspace)
    names = iter(HOSTILE)
    for obj, field in [
        (w["ava"], "name"),
        (w["ben"], "name"),
        (w["boots"], "name"),
        (w["tents"], "name"),
        (w["connection"], "label"),
        (w["project"], "name"),
    ]:
        setattr(obj, field, next(names))
        obj.save(update_fields=[field])
    w["ava_boots"].sub1 = "=cmd|' /C calc'!A0"
    w["ava_boots"].save(update_fields=["sub1"])
    # A promo code that looks like a number, on the offer named like a formula.
    PromoCode.objects.create(workspace=workspace, member=w["ava"], offer=w["boots"], text="+1", key="+1")
    # The network counted more clicks than we did: a negative difference, which must stay a number.
    NetworkClickCount.objects.create(
        workspace=workspace, connection=w["connection"], program_id="1", date=at(2).date(), clicks=5
    )
    PostbackLog.objects.create(
        workspace=workspace, network="impact", method="GET", outcome="accepted", received_at=at(1)
    )
    # Money in the ledger, owed to the member named like a formula (10 % of the sale).
    w["boots"].payout_type, w["boots"].payout_percent = PayoutType.PERCENT, Decimal("10")
    w["boots"].save(update_fields=["payout_type", "payout_percent"])
    held = convert(w["connection"], w["ava"], external_id="@external", sale="100.00", payout="10.00")
    drain()
    # Held for review, with a rule's reason that starts like a formula.
    Verdict.objects.create(workspace=workspace, conversion=held, rule="too_soon", reason="-3 s after its click")
    hold_conversion(conversion=held, reason="-3 s after its click")
    # Ava's counted clicks two days ago are paid per click.
    set_click_rate(offer=w["boots"], member=None, rate=Decimal("0.05"), daily_cap=10)
    post_paid_clicks(workspace=workspace, day=at(2).date())
    objects = build_world(workspace, alice)  # for the URLs that name an object
    rebuild_rollups(workspace=workspace)
    return objects


def discover_exports(client, world_objects) -> dict[str, list[list[str]]]:
    """Every URL answering a CSV for the owner, by URL name, parsed."""
    found = {}
    for name, pattern in _patterns():
        if name.startswith("admin:"):
            continue
        if pattern.pattern.regex.groupindex:
            if name not in CASES:  # public endpoints and the switcher; tests/test_outsider.py keeps this honest
                continue
            url = reverse(name, kwargs=CASES[name](world_objects))
        else:
            url = reverse(name)
        response = client.get(url, {"format": "csv", "preset": "90d"})
        if response.get("Content-Type", "").startswith("text/csv"):
            body = b"".join(response.streaming_content) if response.streaming else response.content
            found[name] = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    return found


def test_no_export_lets_a_cell_start_a_formula(alice_client, workspace, alice):
    exports = discover_exports(alice_client, hostile_world(workspace, alice))

    assert KNOWN <= set(exports), f"not found as CSV: {KNOWN - set(exports)}"
    for name, rows in exports.items():
        assert len(rows) > 1, f"{name}: no rows, so nothing was checked"
        for row in rows:
            for cell in row:
                if cell.startswith(FORMULA_STARTS):
                    assert NUMBER.fullmatch(cell), f"{name}: a cell starts a formula: {cell!r}"
        cells = {cell for row in rows for cell in row}
        if name not in NUMBERS_ONLY:
            defused = {text for text in HOSTILE if "'" + text in cells}
            assert defused, f"{name}: none of the hostile names appears (defused) in {rows[:3]}"


def test_numbers_stay_numbers(alice_client, workspace, alice):
    hostile_world(workspace, alice)
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    r = alice_client.get(reverse("reports:network_clicks"), {"format": "csv", "preset": "90d"})
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert [day, "'\tTAB", "4", "5", "-20.0"] in rows
    r = alice_client.get(reverse("payments:ledger_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    member_rows = [row for row in rows if row[5] == '\'=HYPERLINK("http://x","y")']
    assert member_rows and all(Decimal(row[8] or row[9]) > 0 for row in member_rows)
