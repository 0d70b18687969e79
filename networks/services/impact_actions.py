"""Reading Impact Actions for the adapter (networks/services/impact.py), which stores them.

- an Action, its ActionItems and a change-feed update as the conversion core's ConversionData;
- the ActionItems fetched for the actions new to the hub;
- windows of Actions within Impact's paging limit, and the current Actions behind a batch
  of change-feed updates.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from networks import impact
from networks.impact import ImpactClient
from offers.models import NetworkConnection, PayoutRule
from tracking.models import Conversion
from tracking.reported import ConversionData, ReportedItem

MIN_WINDOW = timedelta(minutes=10)
MAX_SPLITS = 8  # 45 days halved 8 times is about 4 hours
# Actions re-read for the change feed: the window of last-update dates around the updates' UpdateDates.
UPDATE_WINDOW_MARGIN = timedelta(hours=1)
FEW_SINGLE_READS = 10  # actions missed by that window: read one by one rather than a second window
STATUSES = {"PENDING": "pending", "APPROVED": "approved", "REVERSED": "reversed"}


def action_to_data(record: dict, connection: NetworkConnection, items: tuple = ()) -> ConversionData:
    """An Impact Action (strings, None for missing) as ConversionData; MalformedBody if unusable.

    ``items`` are the action's ActionItems (``action_items``), when they were fetched.
    """
    action_id = record.get("Id")
    if not action_id:
        raise impact.MalformedBody("An action without an Id.")
    state = (record.get("State") or "").upper()
    if state not in STATUSES:
        raise impact.MalformedBody(f"Action {action_id} has an unknown State {record.get('State')!r}.")
    return ConversionData(
        transaction_id=(record.get("SubId1") or "")[:255],
        affiliate_id=(record.get("SubId2") or "")[:64],
        external_id=str(action_id)[:255],
        sale_amount=_money(record.get("Amount"), "Amount", action_id),
        network_payout=_money(record.get("Payout"), "Payout", action_id),
        status=STATUSES[state],
        currency=(record.get("Currency") or connection.currency or "").upper(),
        event_at=impact.parse_datetime_value(record.get("EventDate"), "EventDate"),
        locking_at=impact.parse_datetime_value(record.get("LockingDate"), "LockingDate"),
        promo_code=(record.get("PromoCode") or "").strip()[:64],
        order_ref=str(record.get("Oid") or "").strip()[:255],
        items=tuple(item_to_reported(item, action_id) for item in items),
    )


def item_to_reported(item: dict, action_id) -> ReportedItem:
    """One of Impact's ActionItems: Sku, ItemName, Category, Quantity, SaleAmount (the line's), Payout."""
    quantity = str(item.get("Quantity") or "1").strip()
    if not quantity.isdigit() or int(quantity) < 1:
        raise impact.MalformedBody(f"An item of action {action_id} has the Quantity {item.get('Quantity')!r}.")
    return ReportedItem(
        sku=str(item.get("Sku") or "")[:100],
        name=str(item.get("ItemName") or "")[:255],
        category=str(item.get("Category") or "")[:100],
        quantity=int(quantity),
        sale_amount=_money(item.get("SaleAmount"), "SaleAmount of an item", action_id),
        network_payout=_money(item.get("Payout"), "Payout of an item", action_id),
    )


# Fetching an action's items costs a request from the hourly Actions budget, so they are
# fetched only for actions new to the hub, only when an offer of the connection prices
# items by rule, and at most this many per run (the rest are priced as whole orders).
ITEM_FETCHES_PER_RUN = 100


def fetch_new_action_items(*, run, connection, client: ImpactClient, records: list[dict]) -> dict[str, list]:
    """action id -> its ActionItems, for the page's actions not stored yet (see ITEM_FETCHES_PER_RUN)."""
    budget = ITEM_FETCHES_PER_RUN - getattr(run, "_item_fetches", 0)
    if budget <= 0 or not PayoutRule.objects.filter(offer__connection=connection).exists():
        return {}
    ids = [str(r.get("Id")) for r in records if r.get("Id")]
    stored = set(
        Conversion.objects.filter(
            workspace_id=connection.workspace_id, network=connection.kind, dedupe_key__in=ids
        ).values_list("dedupe_key", flat=True)
    )
    found = {}
    for action_id in [i for i in ids if i not in stored][:budget]:
        found[action_id] = client.action_items(action_id)
    run._item_fetches = getattr(run, "_item_fetches", 0) + len(found)
    return found


def _money(value, field, action_id):
    amount = impact.parse_decimal(value, f"{field} of action {action_id}")
    return amount.quantize(Decimal("0.01")) if amount is not None else None


def action_windows(client_pages, start: datetime, end: datetime):
    """Yield (window_start, window_end, pages) for 45-day windows, halving any that Impact
    would page past its 10-page limit (it answers 400 for those; a first page reporting
    more than 10 pages is halved too). ``client_pages(a, b)`` returns a page iterator."""
    for a, b in impact.split_windows(start, end):
        stack = [(a, b, 0)]
        while stack:
            lo, hi, depth = stack.pop()
            pages = client_pages(lo, hi)
            try:
                first = next(pages, None)
            except impact.RequestRejected as e:
                if e.status_code != 400 or depth >= MAX_SPLITS or hi - lo <= MIN_WINDOW:
                    raise
                first = None
                too_many = True
            else:
                too_many = first is not None and first.numpages > impact.MAX_PAGES
            if too_many:
                if hi - lo <= MIN_WINDOW or depth >= MAX_SPLITS:
                    raise impact.WindowError(
                        f"More than {impact.MAX_PAGES} pages of records between {lo:%Y-%m-%d %H:%M} and "
                        f"{hi:%Y-%m-%d %H:%M}; Impact cannot list them."
                    )
                mid = lo + (hi - lo) / 2
                stack.append((mid, hi, depth + 1))
                stack.append((lo, mid, depth + 1))
                continue
            yield lo, hi, _chain_first(first, pages)


def _chain_first(first, rest):
    if first is None:
        return
    yield first
    yield from rest


def read_changed_actions(client: ImpactClient, wanted: dict[str, datetime | None]) -> dict[str, dict]:
    """The current Action for each id in ``wanted`` (id -> the update's UpdateDate), read as
    windows of Actions by last-update date rather than one request per action.

    An action's last update is at or after its update's UpdateDate, so the window from the
    earliest UpdateDate (less a margin) to the latest (plus a margin) finds every action not
    changed again since; a second window up to now finds those that were (when more than a
    few are missing). Whatever is still missing is left to single reads (the adapter's
    _apply_updates). Pages stop once all are found.
    """
    found: dict[str, dict] = {}
    dates = [d for d in wanted.values() if d is not None]
    if not dates:
        return found
    now = timezone.now()
    oldest = now - impact.MAX_AGE + timedelta(hours=1)
    start = max(min(dates) - UPDATE_WINDOW_MARGIN, oldest)
    middle = min(max(dates) + UPDATE_WINDOW_MARGIN, now)

    def pages(a, b):
        return client.iter_actions(start=a, end=b, date_filter="updated")

    for lo, hi in ((min(start, middle - MIN_WINDOW), middle), (middle, now)):
        if hi - lo < MIN_WINDOW or (lo == middle and len(wanted) - len(found) <= FEW_SINGLE_READS):
            break  # the first window reached now, or a few single reads cost less than a window
        for _lo, _hi, window_pages in action_windows(pages, lo, hi):
            for page in window_pages:
                for record in page.records:
                    action_id = str(record.get("Id") or "")
                    if action_id in wanted:
                        found[action_id] = record
                if len(found) == len(wanted):
                    return found
    return found


def update_to_data(update: dict, action: dict | None, connection) -> ConversionData:
    """A change-feed update as ConversionData: a reversal as it stands, any other change as its
    current ``action``."""
    if (update.get("State") or "").upper() != "REVERSED":
        return action_to_data(action, connection)
    return ConversionData(
        transaction_id=(update.get("SubId1") or "")[:255],
        affiliate_id=(update.get("SubId2") or "")[:64],
        external_id=str(update["ActionId"])[:255],
        status="reversed",
        currency=(update.get("Currency") or connection.currency or "").upper(),
        event_at=impact.parse_datetime_value(update.get("ActionDate"), "ActionDate"),
        locking_at=impact.parse_datetime_value(update.get("LockingDate"), "LockingDate"),
    )
