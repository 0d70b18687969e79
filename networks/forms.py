from django import forms

from offers.models import NetworkKind
from workspaces.forms import CURRENCIES


class ConnectionForm(forms.Form):
    """Add or edit a network connection. The Auth Token is never rendered back."""

    kind = forms.ChoiceField(choices=NetworkKind.choices, initial=NetworkKind.IMPACT)
    label = forms.CharField(max_length=120)
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")
    settlement_day = forms.IntegerField(
        min_value=1, max_value=28, initial=1, help_text="Day of the month the network pays (Impact: 1, ShareASale: 20)."
    )
    ip_allowlist = forms.CharField(
        required=False,
        label="Postback IP allowlist",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.0/24"}),
        help_text="Postbacks only from these IP ranges (CIDR), one per line. Empty allows any address.",
    )
    basic_auth_username = forms.CharField(max_length=150, required=False, label="Postback Basic auth user")
    basic_auth_password = forms.CharField(
        required=False,
        label="Postback Basic auth password",
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored as a hash. Leave empty to keep the current one.",
    )
    account_sid = forms.CharField(
        max_length=64, required=False, label="Impact Account SID", help_text="34 characters, starts with IR."
    )
    auth_token = forms.CharField(
        max_length=200, required=False, label="Impact Auth Token", widget=forms.PasswordInput(render_value=False)
    )
    sync_enabled = forms.BooleanField(required=False, initial=True, label="Sync automatically")

    def __init__(self, *args, connection=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection is not None:
            # The kind of an existing connection is fixed: its postback URL names it.
            self.fields["kind"].required = False
            self.fields["kind"].disabled = True
            if connection.credentials_encrypted:
                self.fields["auth_token"].help_text = "Saved; enter a new token to replace it."

    def clean_account_sid(self):
        return self.cleaned_data["account_sid"].strip()

    def clean(self):
        data = super().clean()
        if self.connection is not None:
            data["kind"] = self.connection.kind
        return data
