import json
import zoneinfo
from datetime import UTC, timedelta

from django import forms
from django.utils import timezone

from networks import services
from networks.services import connections
from offers.models import NetworkKind
from workspaces.errors import DomainError
from workspaces.forms import CURRENCIES

TIMEZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


class ConnectionForm(forms.Form):
    """Add or edit a network connection. API tokens and secrets are never rendered back.

    Each network's API fields are shown only for that kind (static/app/app.js); the server
    reads only the chosen kind's fields.
    """

    kind = forms.ChoiceField(choices=NetworkKind.choices, initial=NetworkKind.IMPACT)
    label = forms.CharField(max_length=120)
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")
    settlement_day = forms.IntegerField(
        min_value=1,
        max_value=28,
        required=False,
        help_text="Day of the month the network pays. Empty: its usual day (Impact 1, ShareASale 20, Awin 15).",
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
    shareasale_affiliate_id = forms.CharField(
        max_length=20,
        required=False,
        label="ShareASale affiliate id",
        help_text="Optional: without it the connection takes postbacks only. Empty it to remove the API access.",
    )
    shareasale_api_token = forms.CharField(
        max_length=200, required=False, label="ShareASale API token", widget=forms.PasswordInput(render_value=False)
    )
    shareasale_api_secret = forms.CharField(
        max_length=200, required=False, label="ShareASale API secret", widget=forms.PasswordInput(render_value=False)
    )
    awin_publisher_id = forms.CharField(
        max_length=20,
        required=False,
        label="Awin publisher id",
        help_text="Optional: without it the connection takes postbacks only. Empty it to remove the API access.",
    )
    awin_api_token = forms.CharField(
        max_length=500, required=False, label="Awin API token", widget=forms.PasswordInput(render_value=False)
    )
    timezone = forms.ChoiceField(
        choices=[(name, name) for name in TIMEZONES],
        initial="UTC",
        required=False,
        label="Account time zone",
        help_text="Impact's click export counts days in the account's time zone. Saving reads it from Impact "
        "(CompanyInformation); this setting is used when the token may not read it.",
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
                self.fields["shareasale_api_token"].help_text = "Saved; enter a new token and secret to replace them."
                self.fields["awin_api_token"].help_text = "Saved; enter a new token to replace it."
            if connection.network_timezone:
                self.fields["timezone"].help_text = (
                    f"Impact reports the account's time zone as {connection.network_timezone} (CompanyInformation); "
                    "that one is used. This setting applies only if the token cannot read it."
                )
            elif connection.credentials_encrypted:
                self.fields["timezone"].help_text = (
                    "Impact has not told us the account's time zone (this token may not read CompanyInformation), "
                    "so set it here (Impact: Settings > Account). The click export asks only for days that have "
                    "ended there."
                )
        self.fields["kind"].widget.attrs.update(
            {"data-kind-switch": "", "data-settlement-days": json.dumps(connections.SETTLEMENT_DAYS)}
        )

    def clean_account_sid(self):
        return self.cleaned_data["account_sid"].strip()

    def clean(self):
        data = super().clean()
        if self.connection is not None:
            data["kind"] = self.connection.kind
        if data.get("settlement_day") is None and "settlement_day" not in self.errors:
            data["settlement_day"] = connections.default_settlement_day(data.get("kind", ""))
        # Every problem at once, each next to its field; the network is asked only when there is none.
        for field, message in connections.connection_problems(data, self.connection).items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return data


class SyncNowForm(forms.Form):
    """ "Sync now": optionally from a day (the kinds that read windows), like syncnetwork --since."""

    since = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: read from this day (at most 3 years back). Empty continues from the last sync.",
    )

    def __init__(self, *args, kind: str, adapter, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.adapter = kind, adapter
        if kind not in adapter.windowed:
            del self.fields["since"]  # the click export asks for the last finished day, nothing else
            return
        today = timezone.now().astimezone(UTC).date()
        self.fields["since"].widget.attrs.update(
            {"max": today.isoformat(), "min": (today - adapter.max_age + timedelta(days=1)).isoformat()}
        )

    def clean_since(self):
        day = self.cleaned_data["since"]
        if day is None:
            return None
        try:
            return services.check_since(day, self.adapter)
        except DomainError as e:
            raise forms.ValidationError(e.message) from None
