from django.urls import path

from tracking import report_views

app_name = "tracking"
urlpatterns = [
    path("dashboard/", report_views.dashboard, name="dashboard"),
    path("reports/", report_views.report_index, name="reports"),
    path("reports/members/", report_views.report_members, name="report_members"),
    path("reports/offers/", report_views.report_offers, name="report_offers"),
    path("reports/days/", report_views.report_days, name="report_days"),
    path("reports/risk/", report_views.report_risk, name="report_risk"),
    path("reports/off-state/", report_views.report_off_state, name="report_off_state"),
    path("reports/network-clicks/", report_views.report_network_clicks, name="report_network_clicks"),
    path("reports/postbacks/", report_views.report_postbacks, name="report_postbacks"),
]
