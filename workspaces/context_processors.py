from workspaces.models import Membership


def workspace(request):
    ws = getattr(request, "workspace", None)
    if ws is None:
        return {}
    return {
        "workspace": ws,
        "membership": request.membership,
        "my_workspaces": lambda: (
            Membership.objects.filter(user=request.user).select_related("workspace").order_by("workspace__name")
        ),
    }
