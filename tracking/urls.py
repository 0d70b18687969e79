from django.urls import path, register_converter

from tracking import redirect, report_views

register_converter(redirect.LinkCodeConverter, "linkcode")

app_name = "tracking"
urlpatterns = [
    # Public click redirect; malformed codes fall through to click_not_found without a query.
    path("c/<linkcode:code>", redirect.click, name="click"),
    path("c/<linkcode:code>/", redirect.click, name="click_slash"),
    path("c/<path:anything>", redirect.click_not_found, name="click_not_found"),
    path("bench/302", redirect.bench_redirect, name="bench_redirect"),
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
