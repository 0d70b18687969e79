from decimal import Decimal

from django import forms
from django.utils import timezone

from payments.models import Rail


class ReceiveSettlementForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount received", max_digits=14, decimal_places=2, min_value=Decimal("0.00"), max_value=Decimal("1e11")
    )
    received_on = forms.DateField(label="Date received", widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(label="Reference", max_length=200, required=False)

    def clean_received_on(self):
        value = self.cleaned_data["received_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("The date received cannot be in the future.")
        return value


class PaymentRunForm(forms.Form):
    """Who to pay, how, and (on confirmation) the run's idempotency key."""

    currency = forms.ChoiceField()
    rail = forms.ChoiceField(choices=Rail.choices, initial=Rail.MANUAL)
    members = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    select_all = forms.BooleanField(required=False, label="All payable members")
    minimum = forms.DecimalField(
        required=False, min_value=Decimal("0.00"), max_digits=14, decimal_places=2, label="Minimum amount"
    )
    reference = forms.CharField(required=False, max_length=200, label="Reference (manual payments)")
    paid_on = forms.DateField(
        required=False, label="Date paid (manual payments)", widget=forms.DateInput(attrs={"type": "date"})
    )
    idempotency_key = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, *args, currencies: list[str], member_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]
        self.fields["members"].choices = member_choices

    def clean(self):
        data = super().clean()
        if not data.get("select_all") and not data.get("members"):
            raise forms.ValidationError("Select at least one member, or all payable members.")
        if data.get("rail") == Rail.MANUAL and not data.get("paid_on"):
            self.add_error("paid_on", "Give the date the manual payment was made.")
        if data.get("paid_on") and data["paid_on"] > timezone.localdate():
            self.add_error("paid_on", "The payment date cannot be in the future.")
        return data


class FundingCardForm(forms.Form):
    label = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"placeholder": "Card name, e.g. Ops Visa"}))
    last4 = forms.RegexField(
        regex=r"^[0-9]{4}$",
        error_messages={"invalid": "Enter the last four digits of the card."},
        widget=forms.TextInput(attrs={"placeholder": "Last 4 digits", "inputmode": "numeric", "maxlength": 4}),
    )
    monthly_limit = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"placeholder": "Monthly limit", "step": "0.01"}),
    )


class TwoPersonRuleForm(forms.Form):
    threshold = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        label="Payment runs above",
        widget=forms.NumberInput(attrs={"placeholder": "Empty: off", "step": "0.01"}),
    )
    settlement_threshold = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        label="Settlement receipts above",
        widget=forms.NumberInput(attrs={"placeholder": "Empty: off", "step": "0.01"}),
    )


class DeclineRunForm(forms.Form):
    reason = forms.CharField(max_length=400, error_messages={"required": "Give a reason for declining."})
