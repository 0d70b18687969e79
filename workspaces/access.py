"""The tenant gate: the only way views and API endpoints fetch one tenant object.

Rules, in order:
1. every lookup is filtered by the current workspace, so another workspace's
   object and a missing one look the same (404);
2. a write needs the right for it on the caller's membership (403 otherwise);
3. ids arriving in payloads go through the same helpers.
"""

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from workspaces.models import RIGHT_HOLDERS, Membership, Workspace


def require_right(membership: Membership | None, right: str | None) -> None:
    """Raise 403 unless the membership carries ``right`` (None means read)."""
    if right is None:
        return
    if membership is None:
        raise PermissionDenied("This needs a workspace membership.")
    if not membership.can(right):
        raise PermissionDenied(
            f"Only {RIGHT_HOLDERS[right]} can do this. You are {membership.get_role_display().lower()} in "
            f"{membership.workspace.name}; an owner can change your role in Settings."
        )


def get_in_workspace(workspace: Workspace, source, **lookup) -> Model:
    """Fetch one row of ``source`` (a model, "app.Model" label or queryset) in ``workspace``."""
    if isinstance(source, str):
        source = apps.get_model(source)
    qs = source if isinstance(source, QuerySet) else source._default_manager.all()
    try:
        return qs.get(workspace=workspace, **lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        # ValueError/TypeError: a malformed UUID or id is just as unknown.
        raise Http404("Not found") from None
    except qs.model.MultipleObjectsReturned:
        raise Http404("Not found") from None


def get_for_request(request, source, *, right: str | None = None, **lookup) -> Model:
    """Fetch one object of the request's workspace, checking ``right`` for writes."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        raise Http404("Not found")
    obj = get_in_workspace(workspace, source, **lookup)
    require_right(getattr(request, "membership", None), right)
    return obj


# Named helpers, one per public entity. They resolve models lazily so that this
# module never imports the apps that build on it.


def get_project(request, code, *, write=False):
    return get_for_request(request, "offers.Project", code=code, right="manage" if write else None)


def get_member(request, code, *, write=False):
    return get_for_request(request, "offers.Member", code=code, right="manage" if write else None)


def get_offer(request, code, *, write=False):
    return get_for_request(request, "offers.Offer", code=code, right="manage" if write else None)


def get_promo_code(request, code, *, write=False):
    return get_for_request(request, "offers.PromoCode", code=code, right="manage" if write else None)


def get_payout_rule(request, code, *, write=False):
    return get_for_request(request, "offers.PayoutRule", code=code, right="manage" if write else None)


def get_link(request, code, *, write=False):
    return get_for_request(request, "offers.Link", code=code, right="manage" if write else None)


def get_connection(request, code, *, write=False):
    return get_for_request(request, "offers.NetworkConnection", code=code, right="manage" if write else None)


def get_conversion(request, code, *, write=False):
    return get_for_request(request, "tracking.Conversion", code=code, right="manage" if write else None)


def get_postback(request, code, *, write=False):
    return get_for_request(request, "tracking.PostbackLog", code=code, right="manage" if write else None)


def get_api_key(request, code):
    return get_for_request(request, "workspaces.ApiKey", code=code, right="admin")


def get_invitation(request, pk):
    return get_for_request(request, "workspaces.Invitation", pk=pk, right="admin")
