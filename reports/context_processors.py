"""The saved reports pinned to the navigation, for the workspace pages."""

from reports.saved import REPORTS, report_url, visible_reports


def pinned_reports(request) -> dict:
    workspace = getattr(request, "workspace", None)
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return {}

    def pinned():
        # Read only when the navigation is drawn (pages without it pay nothing).
        found = visible_reports(workspace=workspace, user=user).filter(pinned=True)[:10]
        return [{"name": s.name, "url": report_url(s)} for s in found if s.report in REPORTS]

    return {"pinned_reports": pinned}
