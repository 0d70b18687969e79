from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from risk.models import RiskSettings

DECISIONS = [
    ("release", "Release: the payout becomes payable"),
    ("reject", "Reject as fraud: the conversion is rejected"),
]


class DecideForm(forms.Form):
    cases = forms.MultipleChoiceField(error_messages={"required": "Tick at least one held conversion."})
    decision = forms.ChoiceField(choices=DECISIONS)
    reason = forms.CharField(
        max_length=500, error_messages={"required": "Give a reason: it is recorded with the decision."}
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, case_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].choices = case_choices


class MemberHoldForm(forms.Form):
    reason = forms.CharField(max_length=500, error_messages={"required": "Give a reason for the hold."})


LABELS = {
    "velocity_on": "Click velocity",
    "velocity_clicks": "More than this many clicks from one visitor on one link in an hour",
    "bot_share_on": "Bot share",
    "bot_share_percent": "A member's clicks (last 30 days) more than this % bots",
    "too_soon_on": "Converted too soon",
    "too_soon_seconds": "Under this many seconds after its click",
    "too_late_on": "Converted too late",
    "too_late_days": "More than this many days after its click",
    "affiliate_mismatch_on": "Affiliate id that disagrees with the click's member",
    "duplicate_order_on": "The same order reported twice (the later one is held)",
    "self_referral_on": "Self-referral (the member's own email on the order)",
    "drift_on": "Commission drift",
    "drift_percent": "Member payout more than this % off the offer's terms",
}


class RiskSettingsForm(forms.Form):
    """Each rule's switch and threshold; the fields and their limits come from RiskSettings."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(RiskSettings, exclude=["workspace"], labels=LABELS))
        # The database refuses these too (RiskSettings' check constraints); here they become field errors.
        for name in ("velocity_clicks", "too_late_days", "bot_share_percent"):
            self.fields[name].validators.append(MinValueValidator(1))
            self.fields[name].widget.attrs["min"] = 1
        self.fields["bot_share_percent"].validators.append(MaxValueValidator(100))
        self.fields["bot_share_percent"].widget.attrs["max"] = 100
