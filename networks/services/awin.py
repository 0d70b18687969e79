"""The Awin adapter: transactions runs (by transaction date) and validations runs (by
validation date: approvals, declines and amendments).

Both read ``/publishers/{id}/transactions/`` with ``timezone=UTC`` in windows of at most
31 days, from their own cursor less a day to now, streamed and stored 2,000 at a time
(records.store_records). ``clickRef2`` (else ``clickRef``) is our click id;
``commissionStatus`` pending / approved / declined and deleted (reversed); an amended
transaction keeps its id and brings its new amounts; the validation date is the locking
date. Transactions Awin marks ``paidToPublisher`` add their commission to their payment
(``paymentId``), kept as a payout for the settlements.

Awin allows 20 requests a minute per token (the client counts them for all workers and
waits, or says how long to wait: the run waits).
"""

from collections import defaultdict
from datetime import timedelta

from django.utils import timezone

from networks.awin import AwinClient
from networks.crypto import decrypt_credentials
from networks.models import SyncKind, SyncRun
from networks.records import to_conversion_data
from networks.services import records as store
from networks.services.runs import Adapter, advance, plan_window, split_windows, sync_state
from offers.models import NetworkConnection, NetworkKind
from workspaces.errors import DomainError

WINDOW = timedelta(days=31)
PAGE = 2000
MAX_AGE = timedelta(days=3 * 365)
DATE_TYPES = {SyncKind.ACTIONS: "transaction", SyncKind.UPDATES: "validation"}


def client_for(connection: NetworkConnection) -> AwinClient:
    if not connection.account_sid or not connection.credentials_encrypted:
        raise DomainError("This connection has no Awin API credentials yet.")
    token = decrypt_credentials(connection.credentials_encrypted).get("api_token", "")
    return AwinClient(token=token, publisher_id=connection.account_sid)


def sync(run: SyncRun, connection: NetworkConnection, client: AwinClient) -> bool:
    state = sync_state(connection, run.kind)
    plan_window(run, state, max_age=MAX_AGE)
    for lo, hi in split_windows(run.resume_from, run.window_end, WINDOW):
        rejected_before = client.rejected
        transactions = client.iter_transactions(start=lo, end=hi, date_type=DATE_TYPES[run.kind])
        for page in store.pages(transactions, PAGE):
            store.store_records(run=run, connection=connection, items=[to_conversion_data(r) for r in page])
            paid: dict[str, dict] = defaultdict(dict)
            for record in page:
                if record.paid and record.payment_ref and record.payout is not None:
                    paid[record.payment_ref][record.external_id] = record.payout
            store.record_paid_transactions(connection=connection, paid=paid, today=timezone.localdate())
        unreadable = client.rejected - rejected_before
        if unreadable:
            problems = "; ".join(client.problems[-3:])
            store.reject(run, f"{unreadable} unreadable transaction(s): {problems}", rows=unreadable)
            run.save(update_fields=["rejected_count", "note", "updated_at"])
        advance(run, state, hi)
    return False


ADAPTER = Adapter(
    name="Awin",
    network=NetworkKind.AWIN,
    kinds=(SyncKind.ACTIONS, SyncKind.UPDATES),
    intervals={SyncKind.ACTIONS: timedelta(hours=1), SyncKind.UPDATES: timedelta(hours=1)},
    open_client=client_for,
    sync=sync,
    max_age=MAX_AGE,
    credentials_hint="Add the Awin publisher id and API token first.",
    history_note="Awin's transaction list goes back 3 years",
    windowed=frozenset({SyncKind.ACTIONS, SyncKind.UPDATES}),
)
