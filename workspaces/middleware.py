from workspaces.models import Membership
from workspaces.public_paths import PUBLIC_PREFIXES

# Machine endpoints resolve their tenant from their own key; they must not pay
# for a session lookup.
SKIP_PREFIXES = (*PUBLIC_PREFIXES, "/api/", "/static/")
SESSION_KEY = "workspace_code"


class WorkspaceMiddleware:
    """Sets ``request.workspace`` and ``request.membership`` once per request.

    The current workspace is the one chosen with the switcher (kept in the
    session), else the user's oldest membership.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = None
        request.membership = None
        if not request.path.startswith(SKIP_PREFIXES) and request.user.is_authenticated:
            memberships = Membership.objects.select_related("workspace").filter(user=request.user)
            chosen = request.session.get(SESSION_KEY)
            membership = None
            if chosen:
                membership = memberships.filter(workspace__code=chosen).first()
            if membership is None:
                membership = memberships.order_by("created_at", "id").first()
            if membership is not None:
                request.workspace = membership.workspace
                request.membership = membership
        return self.get_response(request)
