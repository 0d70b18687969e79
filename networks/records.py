"""What the network clients hand to the syncs: one shape for every network's report rows.

A client (networks/shareasale.py, networks/awin.py) reads the network's own format and
yields these; nothing here talks HTTP or touches the database.

- NetworkRecord: one conversion as the network reports it now (status, amounts, dates).
- NetworkChange: one change to a conversion reported on its own (ShareASale's voidTrail
  and edittrail rows): a reversal, or new amounts.
- NetworkPayment: money the network paid out (ShareASale's "Affiliate Payment" rows and
  ``paymentSummary``), for matching against expected settlements.

Money is Decimal rounded half-up to cents, with an ISO-4217 currency; datetimes are
aware (UTC). ``raw`` keeps the row as the network sent it, for the audit trail.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tracking.reported import ConversionData, ReportedItem

STATUSES = ("pending", "approved", "reversed")
CHANGE_KINDS = ("reversal", "amount")
CENT = Decimal("0.01")


class RecordError(ValueError):
    """A value a network sent cannot become a record field (not a number, not a date)."""


@dataclass(frozen=True, kw_only=True)
class NetworkRecord:
    external_id: str  # the network's conversion id (ShareASale Trans ID, Awin transaction id)
    click_id: str = ""  # our transaction_id, as the network echoes it (afftrack, clickref2)
    member_ref: str = ""  # the member's affiliate_id when the network carries it
    status: str  # "pending" | "approved" | "reversed"
    sale_amount: Decimal | None = None
    payout: Decimal | None = None  # the network's commission to us
    currency: str = ""
    event_at: datetime | None = None
    locking_at: datetime | None = None  # when the network locks (validates) it for payment
    order_ref: str = ""
    promo_code: str = ""
    paid: bool = False
    payment_ref: str = ""  # what ties it to a NetworkPayment (Awin paymentId, ShareASale paid date)
    amended: bool = False
    old_sale_amount: Decimal | None = None
    old_payout: Decimal | None = None
    items: tuple[ReportedItem, ...] = ()  # the order's lines (ShareASale's SKU list, Awin's transactionParts)
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not self.external_id:
            raise RecordError("A record needs the network's conversion id.")
        if self.status not in STATUSES:
            raise RecordError(f"Unknown status {self.status!r}.")
        _check_aware(self.event_at, self.locking_at)


@dataclass(frozen=True, kw_only=True)
class NetworkChange:
    external_id: str
    kind: str  # "reversal" (voided) | "amount" (new amounts in sale_amount / payout)
    changed_at: datetime | None = None
    click_id: str = ""
    sale_amount: Decimal | None = None
    payout: Decimal | None = None
    old_sale_amount: Decimal | None = None  # for a reversal: the amounts that were voided
    old_payout: Decimal | None = None
    currency: str = ""
    reason: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not self.external_id:
            raise RecordError("A change needs the network's conversion id.")
        if self.kind not in CHANGE_KINDS:
            raise RecordError(f"Unknown change kind {self.kind!r}.")
        _check_aware(self.changed_at)


@dataclass(frozen=True, kw_only=True)
class NetworkPayment:
    date: date
    amount: Decimal  # what the network paid us: positive
    currency: str
    reference: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def _check_aware(*values):
    for value in values:
        if value is not None and value.utcoffset() is None:
            raise RecordError("Record datetimes must be timezone-aware.")


def money(value, *, what: str) -> Decimal | None:
    """A network's amount as Decimal cents: ``138``, ``157.32``, ``$1,234.50``, ``-206.91999999999996``.

    Accepts str, int or Decimal (JSON numbers are parsed as Decimal, never float); "" and
    None are "not given". Raises RecordError naming ``what``.
    """
    if value is None:
        return None
    if isinstance(value, bool | float):
        raise RecordError(f"{what} must not be a binary float: {value!r}")
    text = str(value).strip().replace("$", "").replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RecordError(f"{what} is not an amount: {value!r}") from None
    if not amount.is_finite():
        raise RecordError(f"{what} is not a finite amount: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_conversion_data(item: NetworkRecord | NetworkChange) -> ConversionData:
    """A record or change as tracking's ConversionData (the conversion core's input).

    A reversal carries only the status; an amount change only the new amounts (its
    status stays what the conversion has). The order reference, paid flag, payment
    reference and old amounts stay on the record for the sync.
    """
    if isinstance(item, NetworkChange):
        reversal = item.kind == "reversal"
        return ConversionData(
            transaction_id=item.click_id[:255],
            external_id=item.external_id[:255],
            sale_amount=None if reversal else item.sale_amount,
            network_payout=None if reversal else item.payout,
            status="reversed" if reversal else None,
            currency=item.currency,
        )
    return ConversionData(
        transaction_id=item.click_id[:255],
        affiliate_id=item.member_ref[:64],
        external_id=item.external_id[:255],
        sale_amount=item.sale_amount,
        network_payout=item.payout,
        status=item.status,
        currency=item.currency,
        event_at=item.event_at,
        locking_at=item.locking_at,
        promo_code=item.promo_code[:64],
        order_ref=item.order_ref[:255],
        items=item.items,
    )
