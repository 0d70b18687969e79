from django.urls import path

from workspaces import views

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
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
]
