from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("portal/", views.home, name="home"),
    path("portal/sign-in/", views.sign_in, name="sign_in"),
    path("portal/sign-out/", views.sign_out, name="sign_out"),
    path("portal/brands/<uuid:code>/switch/", views.switch, name="switch"),
    path("portal/<slug:workspace_slug>/sign-in/<str:token>/", views.redeem, name="redeem"),
    path("portal/links/", views.links, name="links"),
    path("portal/links/<str:code>/", views.link_detail, name="link_detail"),
    path("portal/links/<str:code>/qr.png", views.link_qr_png, name="link_qr_png"),
    path("portal/links/<str:code>/qr.svg", views.link_qr_svg, name="link_qr_svg"),
    path("portal/links/<str:code>/vanity/", views.request_vanity, name="request_vanity"),
    path("portal/clicks/<str:transaction_id>/", views.click_detail, name="click_detail"),
    path("portal/conversions/", views.conversions, name="conversions"),
    path("portal/conversions.csv", views.conversions_csv, name="conversions_csv"),
    path("portal/conversions/<uuid:code>/", views.conversion_detail, name="conversion_detail"),
    path("portal/statement/", views.statement, name="statement"),
    path("portal/payments/<uuid:code>/", views.payment_detail, name="payment_detail"),
    path("portal/settings/", views.settings_page, name="settings"),
    path("portal/settings/payout-email/", views.change_payout_email, name="change_payout_email"),
    path("portal/settings/notifications/", views.update_notifications, name="update_notifications"),
    path("portal/tax-form/", views.tax_form, name="tax_form"),
    path(
        "portal/<slug:workspace_slug>/payout-email/<str:token>/",
        views.confirm_payout_email,
        name="confirm_payout_email",
    ),
]
