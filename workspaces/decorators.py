from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from workspaces.access import require_right


def workspace_view(right: str | None = None):
    """Login required, a current workspace required, and ``right`` checked (403)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.workspace is None:
                return redirect("workspaces:create")
            require_right(request.membership, right)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
