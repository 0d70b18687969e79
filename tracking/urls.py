from django.urls import path

from tracking import report_views

app_name = "tracking"
urlpatterns = [
    path("dashboard/", report_views.dashboard, name="dashboard"),
]
