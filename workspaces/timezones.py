"""Each person reads dates and times in their own zone (their profile's), else the hub's TIME_ZONE.

The zone is activated per request for display only: report days and settlement dates are
computed in the hub's TIME_ZONE whoever looks (reports/ and workspaces/dates.py name it explicitly). The
zone is kept in the session, so a page costs no query for it.
"""

import zoneinfo

from django.conf import settings
from django.utils import timezone

from workspaces.models import Profile

SESSION_KEY = "time_zone"


def zone_name_for(user) -> str:
    profile = Profile.objects.filter(user=user).first()
    return (profile.time_zone if profile else "") or settings.TIME_ZONE


def set_time_zone(*, user, name: str, session=None) -> str:
    """Save ``name`` ("" for the hub's default) as the user's zone; returns the zone in effect."""
    Profile.objects.update_or_create(user=user, defaults={"time_zone": name})
    effective = name or settings.TIME_ZONE
    if session is not None:
        session[SESSION_KEY] = effective
    return effective


def available_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


class TimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            name = request.session.get(SESSION_KEY)
            if name is None:
                name = request.session[SESSION_KEY] = zone_name_for(user)
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
