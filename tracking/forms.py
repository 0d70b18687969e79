from django import forms

from offers.models import Member, NetworkKind, Offer
from tracking.models import ConversionSource, ConversionStatus, PostbackLog
from workspaces.forms import label_widgets


class ConversionFilterForm(forms.Form):
    date_from = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date", "aria-label": "From", "title": "From"}),
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date", "aria-label": "To", "title": "To"})
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ConversionStatus.choices])
    member = forms.ModelChoiceField(
        required=False, queryset=Member.objects.none(), empty_label="Any member", to_field_name="code"
    )
    offer = forms.ModelChoiceField(
        required=False, queryset=Offer.objects.none(), empty_label="Any offer", to_field_name="code"
    )
    network = forms.ChoiceField(required=False, choices=[("", "Any network"), *NetworkKind.choices])
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *ConversionSource.choices])
    attribution = forms.ChoiceField(
        required=False,
        choices=[("", "Attributed or not"), ("unattributed", "Unattributed only"), ("mismatch", "Affiliate mismatch")],
    )
    q = forms.CharField(required=False, max_length=255, label="Transaction or order id")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices come from the current workspace only: another workspace's code is "not a valid choice".
        self.fields["member"].queryset = Member.objects.filter(workspace=workspace).order_by("name")
        self.fields["offer"].queryset = Offer.objects.filter(workspace=workspace).order_by("name")
        label_widgets(self)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class StatusChangeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500, widget=forms.TextInput(attrs={"placeholder": "Reason"}))


class BulkStatusForm(forms.Form):
    codes = forms.TypedMultipleChoiceField(coerce=str, required=False)
    status = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")])
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The codes are checked against the workspace by the service; here only their shape.
        self.fields["codes"].choices = [(c, c) for c in (self.data.getlist("codes") if self.data else [])]


class ReattributeForm(forms.Form):
    transaction_id = forms.CharField(required=False, max_length=64, label="Click transaction id")
    member = forms.ModelChoiceField(
        required=False, queryset=Member.objects.none(), empty_label="or choose a member", to_field_name="code"
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = Member.objects.filter(workspace=workspace, status="active").order_by("name")
        label_widgets(self)

    def clean(self):
        data = super().clean()
        tid = (data.get("transaction_id") or "").strip()
        data["transaction_id"] = tid
        if bool(tid) == bool(data.get("member")):
            raise forms.ValidationError("Give either a click's transaction id or a member, not both.")
        return data


class PostbackFilterForm(forms.Form):
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *PostbackLog.Outcome.choices])
    network = forms.ChoiceField(required=False, choices=[("", "Any network"), *NetworkKind.choices])
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Postbacks and pixels"), ("postback", "Postbacks"), ("pixel", "Pixels"), ("test", "Tests")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        label_widgets(self)
