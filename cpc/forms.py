from datetime import timedelta

from django import forms
from django.utils import timezone

from offers.models import Member, Offer
from workspaces.dates import FIRST_DAY, LAST_DAY

MAX_DAYS = 366


class ClickRateForm(forms.Form):
    offer = forms.ModelChoiceField(queryset=Offer.objects.none(), to_field_name="code")
    member = forms.ModelChoiceField(
        queryset=Member.objects.none(), to_field_name="code", required=False, label="Member (empty: everyone)"
    )
    rate = forms.DecimalField(max_digits=10, decimal_places=4, min_value=0, label="Per counted click")
    daily_cap = forms.IntegerField(min_value=1, max_value=1_000_000, label="Paid clicks per member per day, at most")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = Offer.objects.filter(workspace=workspace, archived_at=None).order_by("name")
        self.fields["member"].queryset = Member.objects.filter(workspace=workspace).order_by("name")
        self.fields["member"].empty_label = "Everyone on the offer"


class DaysForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today - timedelta(days=1)
        start = data.get("start") or end - timedelta(days=29)
        if not (FIRST_DAY <= start <= LAST_DAY and FIRST_DAY <= end <= LAST_DAY):
            raise forms.ValidationError("Choose days between 2000 and 2100.")
        if start > end:
            raise forms.ValidationError("The start must not be after the end.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data
