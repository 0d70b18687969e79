from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from workspaces import forms as account_forms

# Failed admin sign-ins count, and lock, like those on our own login page.
admin.site.login_form = account_forms.AdminLoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="auth/login.html", authentication_form=account_forms.LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="auth/password_reset.html", form_class=account_forms.PasswordResetForm
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="auth/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="auth/password_reset_confirm.html", form_class=account_forms.SetPasswordForm
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="auth/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="auth/password_change.html", form_class=account_forms.PasswordChangeForm
        ),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="auth/password_change_done.html"),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("tracking.urls")),
    path("", include("offers.urls")),
    path("", include("networks.urls")),
    path("", include("payments.urls")),
    path("", include("reports.urls")),
    path("", include("cpc.urls")),
    path("", include("portal.urls")),
    path("", include("portal.staff_urls")),
    path("", include("outbound.urls")),
    path("", include("risk.urls")),
    path("", include("workspaces.urls")),
]
