from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="auth/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("tracking.urls")),
    path("", include("offers.urls")),
    path("", include("networks.urls")),
    path("", include("payments.urls")),
    path("", include("workspaces.urls")),
]
