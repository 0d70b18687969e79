"""Tracking services: everything that writes conversions, besides the public endpoints themselves.

- conversions.py: record a conversion (the hot path and the ORM path, on the rules of
  tracking/attribution.py), change its status, re-attribute it, re-price it.
- replays.py: replay a logged postback, send a test conversion (the postback pipeline
  started from the app).
- retention.py: prune the postback log past its retention.
- spooled.py: replay what the public endpoints spooled to disk while the database was
  away (tracking/spool.py).
"""

from tracking.services.conversions import (
    change_conversion_status,
    change_conversions_status,
    find_connection,
    reattribute_conversion,
    recompute_member_payout,
    record_conversion,
)

__all__ = [
    "change_conversion_status",
    "change_conversions_status",
    "find_connection",
    "reattribute_conversion",
    "recompute_member_payout",
    "record_conversion",
]
