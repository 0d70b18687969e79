"""What a network reported about one conversion, however it arrived: the conversion core's input.

The postback parser (tracking/postback_params.py) and the network syncs (networks/) build
these; tracking/attribution.py records them. Pure: no database.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

MAX_AMOUNT = Decimal("10000000.00")  # ten million per conversion: anything above is a mistake or an attack
MAX_ITEMS = 200  # lines of one order; more is not an order


@dataclass(frozen=True)
class ReportedItem:
    """One line of the order behind a conversion (Impact's ActionItems, ShareASale's SKU list,
    Awin's transactionParts, a postback's ``items``)."""

    sku: str = ""
    name: str = ""
    category: str = ""
    quantity: int = 1
    sale_amount: Decimal | None = None  # the whole line's sale, not the unit price
    network_payout: Decimal | None = None


@dataclass(frozen=True)
class ConversionData:
    """One conversion as a network reported it, already parsed and normalised."""

    transaction_id: str = ""
    affiliate_id: str = ""
    external_id: str = ""
    sale_amount: Decimal | None = None
    network_payout: Decimal | None = None
    status: str | None = None  # "pending" | "approved" | "reversed" | "rejected"
    currency: str = ""
    event_at: datetime | None = None
    locking_at: datetime | None = None
    promo_code: str = ""  # a coupon or voucher the customer used, as the network sent it
    order_ref: str = ""  # the brand's order id (Impact's Oid, ShareASale's order number, Awin's orderRef)
    items: tuple[ReportedItem, ...] = ()

    @property
    def dedupe_key(self) -> str:
        if self.external_id:
            return self.external_id
        if self.transaction_id:
            return "tid:" + self.transaction_id
        return ""
