from django.urls import path

from risk import views

app_name = "risk"
urlpatterns = [
    path("review/", views.queue, name="queue"),
    path("review/cases.csv", views.queue_csv, name="queue_csv"),
    path("review/decide/", views.decide, name="decide"),
    path("review/rules/", views.rule_settings, name="settings"),
    path("review/cases/<uuid:code>/", views.case_detail, name="case"),
    path("review/members/<uuid:code>/hold/", views.hold_member, name="hold_member"),
    path("review/members/<uuid:code>/lift/", views.lift_member_hold, name="lift_member_hold"),
]
