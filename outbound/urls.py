from django.urls import path

from outbound import views

app_name = "outbound"
urlpatterns = [
    path("settings/webhooks/", views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", views.new_webhook, name="new_webhook"),
    path("settings/webhooks/<uuid:code>/", views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<uuid:code>/edit/", views.edit_webhook, name="edit_webhook"),
    path("settings/webhooks/<uuid:code>/rotate-secret/", views.rotate_webhook_secret, name="rotate_webhook_secret"),
    path("settings/webhooks/<uuid:code>/test/", views.test_webhook, name="test_webhook"),
    path("settings/webhooks/<uuid:code>/enable/", views.enable_webhook, name="enable_webhook"),
    path("settings/webhooks/<uuid:code>/disable/", views.disable_webhook, name="disable_webhook"),
    path("settings/webhooks/<uuid:code>/delete/", views.delete_webhook, name="delete_webhook"),
    path("deliveries/<uuid:code>/", views.delivery_detail, name="delivery_detail"),
    path("deliveries/<uuid:code>/resend/", views.resend_delivery, name="resend_delivery"),
]
