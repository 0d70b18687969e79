from django.urls import path

from cpc import views

app_name = "cpc"
urlpatterns = [
    path("paid-clicks/", views.paid_clicks, name="paid_clicks"),
    path("paid-clicks/rates/", views.set_click_rate, name="set_click_rate"),
    path("paid-clicks/rates/<uuid:code>/remove/", views.remove_click_rate, name="remove_click_rate"),
]
