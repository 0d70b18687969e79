"""The tenant gate: the only way views and API endpoints fetch one tenant object.

Rules, in order:
1. every lookup is filtered by the current workspace, so another workspace's
   object and a missing one look the same (404);
2. a write needs the right for it on the caller's membership (403 otherwise);
3. codes arriving in a request body or a filter go through the same lookup
   (``get_for_input``), and name nothing outside the workspace (422).

Each app names its own objects on top of this gate (offers/access.py,
tracking/access.py); this module knows only the workspaces app's models.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from workspaces.api_errors import NOT_FOUND, UnprocessableInput
from workspaces.models import RIGHT_HOLDERS, ApiKey, Invitation, Membership, Workspace


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


def get_in_workspace(workspace: Workspace, source: type[Model] | QuerySet, **lookup) -> Model:
    """Fetch one row of ``source`` (a model or a queryset of it) in ``workspace``."""
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


def get_for_input(workspace: Workspace, source, code, *, field: str) -> Model | None:
    """The object a body or filter names by ``code`` (None when it names none), in ``workspace`` only.

    A code that names nothing here is input a rule refuses, not a missing page: 422, with ``field`` to blame.
    """
    if code is None:
        return None
    try:
        return get_in_workspace(workspace, source, code=code)
    except Http404:
        raise UnprocessableInput({field: [NOT_FOUND]}) from None


def get_api_key(request, code) -> ApiKey:
    return get_for_request(request, ApiKey, code=code, right="admin")


def get_invitation(request, pk) -> Invitation:
    return get_for_request(request, Invitation, pk=pk, right="admin")
