from django.urls import path, register_converter

from tracking import ingest, redirect, report_views, views

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
    # Public conversion endpoints networks call (stable URLs, see SPEC section 4).
    path("postback/<slug:network>/<slug:secret>", ingest.postback, name="postback"),
    path("pixel/<slug:secret>.gif", ingest.pixel, name="pixel"),
    # Conversions and the postback log.
    path("conversions/", views.conversion_list, name="conversion_list"),
    path("conversions/export.csv", views.export_conversions, name="export_conversions"),
    path("conversions/bulk/", views.bulk_change_status, name="bulk_change_status"),
    path("conversions/<uuid:code>/", views.conversion_detail, name="conversion_detail"),
    path("conversions/<uuid:code>/approve/", views.approve_conversion, name="approve_conversion"),
    path("conversions/<uuid:code>/reject/", views.reject_conversion, name="reject_conversion"),
    path("conversions/<uuid:code>/recompute/", views.recompute_payout, name="recompute_payout"),
    path("conversions/<uuid:code>/reattribute/", views.reattribute, name="reattribute"),
    path("postbacks/", views.postback_list, name="postback_list"),
    path("postbacks/<uuid:code>/", views.postback_detail, name="postback_detail"),
    path("postbacks/<uuid:code>/replay/", views.replay_postback, name="replay_postback"),
    path("offers/<uuid:code>/postback-panel/", views.offer_postback_panel, name="offer_postback_panel"),
    path("offers/<uuid:code>/test-conversion/", views.send_test_conversion, name="send_test_conversion"),
]
