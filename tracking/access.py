"""Conversions and postback log rows named by a URL, fetched through the tenant gate (workspaces/access.py).

Another workspace's row is a 404, as a missing one is; ``write=True`` also needs the
"manage" right (403 otherwise).
"""

from tracking.models import Conversion, PostbackLog
from workspaces.access import get_for_request


def get_conversion(request, code, *, write=False) -> Conversion:
    return get_for_request(request, Conversion, code=code, right="manage" if write else None)


def get_postback(request, code, *, write=False) -> PostbackLog:
    return get_for_request(request, PostbackLog, code=code, right="manage" if write else None)
