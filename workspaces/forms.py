from django import forms
from django.contrib.auth import get_user_model
from holidays.registry import COUNTRIES as HOLIDAY_COUNTRIES

from workspaces.models import Role

CURRENCIES = [("USD", "USD"), ("EUR", "EUR"), ("GBP", "GBP"), ("CAD", "CAD"), ("AUD", "AUD")]


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

    name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=10)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        if get_user_model().objects.filter(username__iexact=self.email).exists():
            raise forms.ValidationError("An account with this email exists: sign in first, then open the link.")
        return super().clean()
