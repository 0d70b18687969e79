"""What a network reported about one conversion, however it arrived: the conversion core's input.

The postback parser (tracking/postback_params.py) and the network syncs (networks/) build
these; tracking/attribution.py records them. Pure: no database.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

MAX_AMOUNT = Decimal("10000000.00")  # ten million per conversion: anything above is a mistake or an attack


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

    @property
    def dedupe_key(self) -> str:
        if self.external_id:
            return self.external_id
        if self.transaction_id:
            return "tid:" + self.transaction_id
        return ""
