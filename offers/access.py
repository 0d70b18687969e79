"""Offers' objects named by a URL, fetched through the tenant gate (workspaces/access.py).

Another workspace's object is a 404, as a missing one is; ``write=True`` also needs the
"manage" right (403 otherwise).
"""

from offers.models import Link, Member, NetworkConnection, Offer, PayoutRule, Project, PromoCode
from workspaces.access import get_for_request


def _right(write: bool) -> str | None:
    return "manage" if write else None


def get_project(request, code, *, write=False) -> Project:
    return get_for_request(request, Project, code=code, right=_right(write))


def get_member(request, code, *, write=False) -> Member:
    return get_for_request(request, Member, code=code, right=_right(write))


def get_offer(request, code, *, write=False) -> Offer:
    return get_for_request(request, Offer, code=code, right=_right(write))


def get_link(request, code, *, write=False) -> Link:
    return get_for_request(request, Link, code=code, right=_right(write))


def get_connection(request, code, *, write=False) -> NetworkConnection:
    return get_for_request(request, NetworkConnection, code=code, right=_right(write))


def get_promo_code(request, code, *, write=False) -> PromoCode:
    return get_for_request(request, PromoCode, code=code, right=_right(write))


def get_payout_rule(request, code, *, write=False) -> PayoutRule:
    return get_for_request(request, PayoutRule, code=code, right=_right(write))
