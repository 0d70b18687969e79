from urllib.parse import urlsplit

from django.conf import settings

from workspaces.models import Membership


def site_url_mismatch(request) -> str:
    """The host this page was asked for, when it is not SITE_URL's (links the hub prints would say another)."""
    expected = urlsplit(settings.SITE_URL).netloc.lower()
    try:
        host = request.get_host().lower()
    except Exception:  # noqa: BLE001 - a host Django refuses never reaches a staff page anyway
        return ""
    return host if expected and host != expected else ""


def workspace(request):
    ws = getattr(request, "workspace", None)
    if ws is None:
        return {}
    return {
        "workspace": ws,
        "membership": request.membership,
        "site_url": settings.SITE_URL,
        "host_mismatch": site_url_mismatch(request),
        "my_workspaces": lambda: (
            Membership.objects.filter(user=request.user).select_related("workspace").order_by("workspace__name")
        ),
    }
