from django.urls import path

from workspaces import domain_views, views

app_name = "workspaces"
urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/new/", views.create, name="create"),
    path("workspaces/switch/<uuid:code>/", views.switch, name="switch"),
    path("account/", views.account, name="account"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/update/", views.update_settings, name="update_settings"),
    path("settings/invite/", views.invite, name="invite"),
    path("settings/invitations/<int:pk>/cancel/", views.cancel_invitation, name="cancel_invitation"),
    path("settings/team/<int:pk>/role/", views.change_role, name="change_role"),
    path("settings/team/<int:pk>/remove/", views.remove_member, name="remove_member"),
    path("settings/api-keys/new/", views.create_api_key, name="create_api_key"),
    path("settings/api-keys/<uuid:code>/revoke/", views.revoke_api_key, name="revoke_api_key"),
    path("settings/domains/", domain_views.add_domain, name="add_domain"),
    path("settings/domains/<uuid:code>/verify/", domain_views.verify_domain, name="verify_domain"),
    path("settings/domains/<uuid:code>/primary/", domain_views.make_primary_domain, name="make_primary_domain"),
    path("settings/domains/<uuid:code>/remove/", domain_views.remove_domain, name="remove_domain"),
    path("tls/ask", domain_views.tls_ask, name="tls_ask"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
]
