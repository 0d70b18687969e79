"""The ShareASale adapter: activity runs (conversions and payments) and voids-and-edits runs.

- Activity: the ``activity`` report by transaction date (US Central days), from the
  cursor less two days (late edits, and the Central day boundary) to today, in windows of
  at most 31 days; rows are streamed and stored 2,000 at a time (records.store_records):
  ``Voided=1`` reversed, ``Locked=1`` approved with its Lock Date as the locking date, else
  pending; ``Aff Comment`` is our click id. "Affiliate Payment" rows are ShareASale paying
  us: kept as payouts for the settlements, never as conversions.
- Voids and edits: ``voidTrail`` and ``edittrail`` since their cursor, applied to the
  conversions already stored (a void reverses, an edit sets the new amounts); a repeated
  run changes nothing twice, because a conversion that already says so is unchanged.

Each report costs a credit of the account's monthly quota. The client spends at most a
share of the credits left per day (SHAREASALE_DAILY_CREDIT_SHARE) and says when the day's
share is gone (a rate limit: the run waits until tomorrow); runs are spaced so a month's
schedule fits the usual quota. Credits left are kept on the connection after each run.
"""

from datetime import timedelta

from django.utils import timezone

from networks import shareasale
from networks.crypto import decrypt_credentials
from networks.models import SyncKind, SyncRun
from networks.records import to_conversion_data
from networks.services import records as store
from networks.services.runs import Adapter, advance, plan_window, split_windows, sync_state
from networks.shareasale import CreditBudget, ShareASaleClient, central_date
from offers.models import NetworkConnection, NetworkKind
from workspaces.errors import DomainError

WINDOW = timedelta(days=31)
OVERLAP = timedelta(days=2)
PAGE = 2000
MAX_AGE = timedelta(days=3 * 365)


def client_for(connection: NetworkConnection) -> ShareASaleClient:
    if not connection.account_sid or not connection.credentials_encrypted:
        raise DomainError("This connection has no ShareASale API credentials yet.")
    secrets = decrypt_credentials(connection.credentials_encrypted)
    return ShareASaleClient(
        affiliate_id=connection.account_sid,
        api_token=secrets.get("api_token", ""),
        api_secret=secrets.get("api_secret", ""),
        budget=CreditBudget(str(connection.code)),
        currency=connection.currency or shareasale.CURRENCY,
    )


def sync(run: SyncRun, connection: NetworkConnection, client: ShareASaleClient) -> bool:
    try:
        if run.kind == SyncKind.ACTIONS:
            _sync_activity(run, connection, client)
        else:
            _sync_changes(run, connection, client)
    finally:
        _remember_credits(connection, client)
    return False


def _sync_activity(run: SyncRun, connection: NetworkConnection, client: ShareASaleClient) -> None:
    state = sync_state(connection, SyncKind.ACTIONS)
    plan_window(run, state, max_age=MAX_AGE, overlap=OVERLAP)
    for lo, hi in split_windows(run.resume_from, run.window_end, WINDOW):
        report = client.activity(central_date(lo), central_date(hi))
        for page in store.pages(report, PAGE):
            store.store_records(run=run, connection=connection, items=[to_conversion_data(r) for r in page])
        _count_unreadable(run, report)
        store.record_payouts(connection=connection, payments=report.payments)
        advance(run, state, hi)


def _sync_changes(run: SyncRun, connection: NetworkConnection, client: ShareASaleClient) -> None:
    state = sync_state(connection, SyncKind.UPDATES)
    plan_window(run, state, max_age=MAX_AGE, overlap=OVERLAP)
    unknown = 0
    for lo, hi in split_windows(run.resume_from, run.window_end, WINDOW):
        for report in (
            client.voids(central_date(lo), central_date(hi)),
            client.edits(central_date(lo), central_date(hi)),
        ):
            for page in store.pages(report, PAGE):
                items = [to_conversion_data(change) for change in page]
                unknown += store.store_changes(run=run, connection=connection, items=items)
            _count_unreadable(run, report)
        advance(run, state, hi)
    if unknown:
        run.note = (
            f"{unknown} change(s) name transactions not synced yet; the Activity sync brings them as they are now."
        )[:500]
        run.save(update_fields=["note", "updated_at"])


def _count_unreadable(run: SyncRun, report) -> None:
    if report.rejected:
        store.reject(run, f"{report.rejected} unreadable row(s): {'; '.join(report.problems)}", rows=report.rejected)
        run.save(update_fields=["rejected_count", "note", "updated_at"])


def _remember_credits(connection: NetworkConnection, client: ShareASaleClient) -> None:
    if client.last_credits_left is None:
        return
    connection.api_credits_left = client.last_credits_left
    connection.api_credits_checked_at = timezone.now()
    connection.save(update_fields=["api_credits_left", "api_credits_checked_at", "updated_at"])


ADAPTER = Adapter(
    name="ShareASale",
    network=NetworkKind.SHAREASALE,
    kinds=(SyncKind.ACTIONS, SyncKind.UPDATES),
    # About 4 reports a day: a month's schedule stays well inside the usual 200-600 credits.
    intervals={SyncKind.ACTIONS: timedelta(hours=8), SyncKind.UPDATES: timedelta(hours=24)},
    open_client=client_for,
    sync=sync,
    max_age=MAX_AGE,
    credentials_hint="Add the ShareASale affiliate id, API token and API secret first.",
    history_note="ShareASale reports go back 3 years",
    windowed=frozenset({SyncKind.ACTIONS, SyncKind.UPDATES}),
)
