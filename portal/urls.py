from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("portal/", views.home, name="home"),
    path("portal/sign-in/", views.sign_in, name="sign_in"),
    path("portal/sign-out/", views.sign_out, name="sign_out"),
    path("portal/brands/<uuid:code>/switch/", views.switch, name="switch"),
    path("portal/<slug:workspace_slug>/sign-in/<str:token>/", views.redeem, name="redeem"),
]
