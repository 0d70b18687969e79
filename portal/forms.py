from django import forms
from django.core.validators import RegexValidator

from portal.models import TaxForm
from tracking.models import ConversionStatus


class SignInForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class DeepLinkForm(forms.Form):
    """Pick one of your links (its offer) and a page of the brand's site to land on."""

    link = forms.ChoiceField(label="Offer")
    url = forms.CharField(
        label="Page on the brand's site",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def __init__(self, *args, links=(), **kwargs):
        super().__init__(*args, **kwargs)
        seen, choices = set(), []
        for link in links:  # one entry per offer: the deep link is a new link to that offer
            if link.offer_id not in seen:
                seen.add(link.offer_id)
                choices.append((link.code, f"{link.offer.name} ({', '.join(link.offer.allowed_domain_list)})"))
        self.fields["link"].choices = choices


class VanityForm(forms.Form):
    slug = forms.CharField(label="Vanity slug", max_length=50)


class PayoutEmailForm(forms.Form):
    paypal_email = forms.EmailField(label="PayPal email", max_length=254)


class NotificationsForm(forms.Form):
    notify_conversion_approved = forms.BooleanField(label="A conversion is approved", required=False)
    notify_payment_sent = forms.BooleanField(label="A payment is sent", required=False)


class TaxFormForm(forms.Form):
    kind = forms.ChoiceField(label="Form", choices=TaxForm.Kind.choices, widget=forms.RadioSelect)
    legal_name = forms.CharField(label="Legal name", max_length=200)
    country = forms.CharField(
        label="Country (2 letters)",
        max_length=2,
        min_length=2,
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Two letters, e.g. US or DE.")],
    )
    address = forms.CharField(label="Address", max_length=300)
    tax_id = forms.CharField(
        label="Tax id (SSN/EIN for a W-9, foreign tax id for a W-8BEN)",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    signed_name = forms.CharField(label="Signature (type your legal name)", max_length=200)


class BulkInviteForm(forms.Form):
    members = forms.CharField(required=False)


class PortalSettingsForm(forms.Form):
    require_tax_form = forms.BooleanField(label="Require a tax form before paying a member", required=False)


class ConversionFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "All statuses"), *ConversionStatus.choices])
    offer = forms.ChoiceField(required=False)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, offers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].choices = [("", "All offers"), *((str(o.code), o.name) for o in offers)]
        for name in ("status", "offer"):
            self.fields[name].widget.attrs["aria-label"] = self.fields[name].choices[0][1]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"status": data["status"], "offer_code": data["offer"], "start": data["start"], "end": data["end"]}
