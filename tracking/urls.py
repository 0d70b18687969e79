from django.urls import path, re_path

from tracking import public_views, views
from workspaces.public_paths import CLICK_ANY_PATH, CLICK_PATH, PIXEL_PATH, POSTBACK_PATH

app_name = "tracking"
urlpatterns = [
    # Public click redirect; malformed codes fall through to click_not_found without a query.
    re_path(f"^{CLICK_PATH}$", public_views.click, name="click"),
    re_path(f"^{CLICK_PATH}/$", public_views.click, name="click_slash"),
    re_path(f"^{CLICK_ANY_PATH}$", public_views.click_not_found, name="click_not_found"),
    path("bench/302", public_views.bench_redirect, name="bench_redirect"),
    # Public conversion endpoints networks call (stable URLs, see SPEC section 4).
    re_path(f"^{POSTBACK_PATH}$", public_views.postback, name="postback"),
    re_path(f"^{PIXEL_PATH}$", public_views.pixel, name="pixel"),
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
    # The offer and member pages, with their clicks and earnings.
    path("offers/<uuid:code>/", views.offer_detail, name="offer_detail"),
    path("members/<uuid:code>/", views.member_detail, name="member_detail"),
    path("offers/<uuid:code>/postback-panel/", views.offer_postback_panel, name="offer_postback_panel"),
    path("offers/<uuid:code>/test-conversion/", views.send_test_conversion, name="send_test_conversion"),
]
