from django import forms

from outbound.lib import unknown_macros
from outbound.models import TOPICS


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=2000,
        assume_scheme="https",
        help_text="https only; private, loopback and link-local addresses are refused.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hub-webhooks"}),
    )
    description = forms.CharField(max_length=200, required=False)
    topics = forms.MultipleChoiceField(
        label="Events",
        choices=[(topic, f"{topic} · {meaning}") for topic, meaning in TOPICS.items()],
        widget=forms.CheckboxSelectMultiple,
    )


class RotateSecretForm(forms.Form):
    overlap_hours = forms.TypedChoiceField(
        label="Keep the old secret signing for",
        choices=[(0, "no overlap"), (1, "1 hour"), (24, "24 hours"), (72, "3 days")],
        coerce=int,
        initial=24,
    )


class MemberPostbackForm(forms.Form):
    url = forms.URLField(
        label="Postback URL",
        max_length=2000,
        assume_scheme="https",
        help_text="Macros: {transaction_id} {sub1}..{sub5} {payout} {status} {conversion_id} {offer_id}.",
        widget=forms.URLInput(
            attrs={"placeholder": "https://tracker.example/pb?click={transaction_id}&amount={payout}"}
        ),
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        unknown = unknown_macros(url)
        if unknown:
            raise forms.ValidationError("Unknown macros: " + ", ".join("{" + m + "}" for m in unknown) + ".")
        return url


class AlertSettingsForm(forms.Form):
    tracking_loss_percent = forms.IntegerField(
        label="Tracking loss: our clicks and the network's differ by more than (%)", min_value=1, max_value=100
    )
    postback_reject_percent = forms.IntegerField(
        label="Postback trouble: rejected or unattributed hits in an hour above (%)", min_value=1, max_value=100
    )
    postback_silence_hours = forms.IntegerField(
        label="No postback from a connection that usually sends them for (hours)", min_value=1, max_value=720
    )
    settlement_overdue_days = forms.IntegerField(
        label="A settlement is overdue after (days)", min_value=1, max_value=90
    )
    email_owners = forms.BooleanField(label="Email owners when an alert opens", required=False)
    link_auto_fallback = forms.BooleanField(
        label="When the link monitor finds an offer broken, pause it so its clicks go to its fallback URL",
        required=False,
    )
