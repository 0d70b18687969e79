from django.urls import path

from tracking import views

app_name = "tracking"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
]
