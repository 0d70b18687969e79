from django.urls import path

from reports import attribution_specs, list_views, paths, saved_views, specs, views

app_name = "reports"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("reports/", views.report_index, name="index"),
    # Every report is the one report view, given its spec.
    path("reports/members/", views.report_page, {"report": specs.BY_MEMBER}, name="members"),
    path("reports/offers/", views.report_page, {"report": specs.BY_OFFER}, name="offers"),
    path("reports/days/", views.report_page, {"report": specs.BY_DAY}, name="days"),
    path("reports/channels/", views.report_page, {"report": attribution_specs.BY_CHANNEL}, name="channels"),
    path("reports/paths/", views.report_page, {"report": paths.TOP_PATHS}, name="paths"),
    path("reports/risk/", views.report_page, {"report": specs.RISK}, name="risk"),
    path("reports/off-state/", views.report_page, {"report": specs.OFF_STATE}, name="off_state"),
    path("reports/network-clicks/", views.report_page, {"report": specs.NETWORK_CLICKS}, name="network_clicks"),
    path("reports/postbacks/", views.report_page, {"report": specs.POSTBACK_OUTCOMES}, name="postbacks"),
    # Saved reports: the report on screen under a name, shared or private, pinned, emailed.
    path("reports/saved/", saved_views.saved_list, name="saved"),
    path("reports/saved/new/", saved_views.save_report, name="save_report"),
    path("reports/saved/<uuid:code>/change/", saved_views.change_saved_report, name="change_saved_report"),
    path("reports/saved/<uuid:code>/delete/", saved_views.delete_saved_report, name="delete_saved_report"),
    # The Members and Links lists, with each row's clicks, conversions and earnings.
    path("members/", list_views.member_list, name="member_list"),
    path("members/export.csv", list_views.export_members, name="export_members"),
    path("links/", list_views.link_list, name="link_list"),
    path("links/export.csv", list_views.export_links, name="export_links"),
]
