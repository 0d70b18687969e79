from django.urls import path

from networks import views

app_name = "networks"
urlpatterns = [
    path("networks/", views.network_list, name="list"),
    path("networks/new/", views.add_connection, name="add"),
    path("networks/<uuid:code>/", views.connection_detail, name="detail"),
    path("networks/<uuid:code>/edit/", views.edit_connection, name="edit"),
    path("networks/<uuid:code>/rotate-secret/", views.rotate_secret, name="rotate_secret"),
    path("networks/<uuid:code>/sync/<str:kind>/", views.sync_now, name="sync_now"),
    path("networks/runs/<uuid:code>/progress/", views.run_progress, name="run_progress"),
]
