"""API key authentication, the workspace permission and throttling (WorkspaceApiView in api_common.py puts
them on every endpoint; this module imports no view, as DRF's settings load it while rest_framework.views loads)."""

from django.utils import timezone
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import SimpleRateThrottle

from workspaces.models import ApiKey


class ApiKeyUser:
    """Stands in for a user on API requests; the key is the principal."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, key: ApiKey):
        self.key = key

    def __str__(self):
        return f"api-key:{self.key.prefix}"


def parse_key(raw: str) -> tuple[str, str] | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "hub" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer hub_<prefix>_<secret>`` (or ``X-Api-Key``)."""

    def authenticate(self, request):
        header = get_authorization_header(request).decode("latin-1")
        raw = ""
        if header.lower().startswith("bearer "):
            raw = header[7:].strip()
        elif request.META.get("HTTP_X_API_KEY"):
            raw = request.META["HTTP_X_API_KEY"].strip()
        if not raw:
            return None
        parsed = parse_key(raw)
        if parsed is None:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        prefix, secret = parsed
        key = ApiKey.objects.select_related("workspace").filter(prefix=prefix, revoked_at=None).first()
        if key is None or not key.matches(secret):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        request._request.workspace = key.workspace
        request._request.membership = None
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasWorkspaceKey(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class ApiKeyThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
