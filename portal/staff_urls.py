from django.urls import path

from portal import staff_views

app_name = "portal_staff"
urlpatterns = [
    path("members/portal/", staff_views.overview, name="overview"),
    path("members/portal/invite/", staff_views.invite_members, name="invite_members"),
    path("members/portal/settings/", staff_views.update_settings, name="update_settings"),
    path(
        "members/portal/vanity/<uuid:code>/<str:decision>/",
        staff_views.decide_vanity,
        name="decide_vanity",
    ),
    path("members/<uuid:code>/portal/invite/", staff_views.invite_member, name="invite_member"),
]
