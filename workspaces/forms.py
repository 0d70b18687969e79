from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from holidays.registry import COUNTRIES as HOLIDAY_COUNTRIES

from workspaces import login_throttle, services
from workspaces.http import client_ip
from workspaces.models import Role

CURRENCIES = [("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CAD", "CAD"), ("AUD", "AUD")]


def label_widgets(form: forms.Form) -> None:
    """For forms shown without a <label> per control (filter bars, inline action rows): each control
    carries its field's label for screen readers."""
    for name, field in form.fields.items():
        field.widget.attrs.setdefault("aria-label", str(field.label or name.replace("_", " ").capitalize()))


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120)
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")


def holiday_countries() -> list[tuple[str, str]]:
    """(alpha-2 code, name) of every country whose public holidays the holidays package knows, by name."""
    found = {codes[1]: key.replace("_", " ").title() for key, codes in HOLIDAY_COUNTRIES.items() if len(codes[1]) == 2}
    return sorted(found.items(), key=lambda item: item[1])


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    crediting_delay_days = forms.IntegerField(
        min_value=2,
        max_value=5,
        help_text="Business days between a network payment arriving and it reaching your balance.",
    )
    holiday_country = forms.ChoiceField(
        required=False,
        label="Public holidays of",
        help_text="Crediting skips weekends and this country's public holidays.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holiday_country"].choices = [("", "None (weekends only)"), *holiday_countries()]


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use this key, e.g. 'warehouse sync'.")


class SignupForm(forms.Form):
    """Creates an account for someone accepting an invitation."""

    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=password_validation.password_validators_help_text_html(),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self):
        password = self.cleaned_data["password"]
        name = self.cleaned_data.get("name", "")
        user = get_user_model()(username=self.email, email=self.email, first_name=name)
        password_validation.validate_password(password, user)
        return password

    def clean(self):
        if get_user_model().objects.filter(username__iexact=self.email).exists():
            raise forms.ValidationError("An account with this email exists: sign in first, then open the link.")
        return super().clean()


# --- Signing in ---------------------------------------------------------------


def _locked(seconds: int) -> ValidationError:
    return ValidationError(login_throttle.locked_message(seconds), code="locked")


class ThrottledSignInMixin:
    """For AuthenticationForm and its admin subclass: refuse while locked, count wrong passwords."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request.META) if self.request is not None else ""
        if seconds := login_throttle.seconds_locked(username=username, ip=ip):
            raise _locked(seconds)
        try:
            cleaned = super().clean()
        except ValidationError:
            # No user means the password was wrong; a user refused afterwards (not staff, on the
            # admin) gave the right one.
            if self.user_cache is None and self.cleaned_data.get("password"):
                if seconds := login_throttle.record_failure(username=username, ip=ip):
                    raise _locked(seconds) from None
            raise
        if self.user_cache is not None:
            login_throttle.forget_account(username)
        return cleaned


class LoginForm(ThrottledSignInMixin, auth_forms.AuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": "Your email and password did not match. Try again.",
    }


class AdminLoginForm(ThrottledSignInMixin, AdminAuthenticationForm):
    pass


class NewPasswordRulesMixin:
    """Errors from the password rules go beside the new password, not its confirmation."""

    def validate_password_for_user(self, user, password_field_name="new_password1"):
        super().validate_password_for_user(user, password_field_name="new_password1")


class PasswordChangeForm(NewPasswordRulesMixin, auth_forms.PasswordChangeForm):
    """A wrong current password counts as a failed sign-in for the account."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"
        self.fields["new_password2"].label = "New password again"

    def clean_old_password(self):
        username = self.user.get_username()
        if seconds := login_throttle.seconds_locked(username=username):
            raise _locked(seconds)
        try:
            return super().clean_old_password()
        except ValidationError:
            if seconds := login_throttle.record_failure(username=username):
                raise _locked(seconds) from None
            raise


class PasswordResetForm(auth_forms.PasswordResetForm):
    def save(self, **kwargs):
        """Queue our own email (templates/emails/password-reset-*) for each account using the address.

        The worker makes the link, so this answers as fast for an unknown address as for a known one.
        The keyword arguments (Django's email settings) are not used.
        """
        for user in self.get_users(self.cleaned_data["email"]):
            services.queue_password_reset(user=user)


class SetPasswordForm(NewPasswordRulesMixin, auth_forms.SetPasswordForm):
    """The new password from a reset link; it also lifts a sign-in lock on the account."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password2"].label = "New password again"

    def save(self, commit=True):
        user = super().save(commit)
        login_throttle.forget_account(user.get_username())
        return user


class AccountForm(forms.Form):
    time_zone = forms.ChoiceField(
        required=False,
        label="Show dates and times in",
        help_text="Only how you read them: report days and pay dates stay in the hub's zone.",
    )

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        from workspaces.timezones import available_zones

        super().__init__(*args, **kwargs)
        default = [("", f"The hub's default ({settings.TIME_ZONE})")]
        self.fields["time_zone"].choices = default + [(z, z) for z in available_zones()]
