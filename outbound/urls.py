from django.urls import path

from outbound import alert_views, member_views, views

app_name = "outbound"
urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", views.new_webhook, name="new_webhook"),
    path("settings/webhooks/<uuid:code>/", views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<uuid:code>/deliveries.csv", views.webhook_deliveries_csv, name="webhook_deliveries_csv"),
    path("settings/webhooks/<uuid:code>/edit/", views.edit_webhook, name="edit_webhook"),
    path("settings/webhooks/<uuid:code>/rotate-secret/", views.rotate_webhook_secret, name="rotate_webhook_secret"),
    path("settings/webhooks/<uuid:code>/test/", views.test_webhook, name="test_webhook"),
    path("settings/webhooks/<uuid:code>/enable/", views.enable_webhook, name="enable_webhook"),
    path("settings/webhooks/<uuid:code>/disable/", views.disable_webhook, name="disable_webhook"),
    path("settings/webhooks/<uuid:code>/delete/", views.delete_webhook, name="delete_webhook"),
    path("members/<uuid:code>/postbacks/", member_views.member_postbacks, name="member_postbacks"),
    path(
        "members/<uuid:code>/postbacks/deliveries.csv",
        member_views.member_postback_deliveries_csv,
        name="member_postback_deliveries_csv",
    ),
    path("member-postbacks/<uuid:code>/edit/", member_views.edit_member_postback, name="edit_member_postback"),
    path("member-postbacks/<uuid:code>/remove/", member_views.remove_member_postback, name="remove_member_postback"),
    path("member-postbacks/<uuid:code>/enable/", member_views.enable_member_postback, name="enable_member_postback"),
    path("member-postbacks/<uuid:code>/disable/", member_views.disable_member_postback, name="disable_member_postback"),
    path("member-postbacks/<uuid:code>/test/", member_views.test_member_postback, name="test_member_postback"),
    path("deliveries/<uuid:code>/", views.delivery_detail, name="delivery_detail"),
    path("alerts/", alert_views.alert_list, name="alerts"),
    path("alerts/settings/", alert_views.update_alert_settings, name="update_alert_settings"),
    path("offers/<uuid:code>/check-links/", alert_views.check_offer_links, name="check_offer_links"),
    path("deliveries/<uuid:code>/resend/", views.resend_delivery, name="resend_delivery"),
]
