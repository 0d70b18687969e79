from django import forms

from offers import services
from offers.models import ConversionType, Member, Offer, PayoutRule, PayoutType, Project, Protocol
from offers.selectors import list_connections
from workspaces.forms import CURRENCIES, label_widgets

MEMBER_STATUS_FILTER = [("", "Active"), ("archived", "Archived"), ("all", "All")]
TEST_FILTER = [("", "Test and real"), ("no", "Real members only"), ("yes", "Test members only")]
OFFER_STATE_FILTER = [("", "All current")] + list(Offer.State.choices) + [("archived", "Archived")]


def _projects(workspace):
    return Project.objects.filter(workspace=workspace, archived_at=None).order_by("name")


def _active_members(workspace):
    return Member.objects.filter(workspace=workspace, status=Member.Status.ACTIVE).order_by("name")


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")


class OfferFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    state = forms.ChoiceField(choices=OFFER_STATE_FILTER, required=False)


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


def _search(placeholder):
    return forms.TextInput(
        attrs={"type": "search", "placeholder": placeholder, "aria-label": "Search", "class": "w-search"}
    )


def _pick(label):
    return forms.Select(attrs={"aria-label": label, "class": "w-pick"})


class MemberFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, widget=_search("Name, email, handle or affiliate id"))
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(), required=False, to_field_name="code", widget=_pick("Project")
    )
    status = forms.ChoiceField(choices=MEMBER_STATUS_FILTER, required=False, widget=_pick("Status"))
    test = forms.ChoiceField(choices=TEST_FILTER, required=False, widget=_pick("Test flag"))

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.filter(workspace=workspace).order_by("name")
        self.fields["project"].empty_label = "All projects"


class MemberForm(forms.Form):
    name = forms.CharField(max_length=120)
    email = forms.EmailField(required=False, help_text="Identifies the member in CSV imports.")
    handle = forms.CharField(max_length=80, required=False, help_text="e.g. @avatrails")
    paypal_email = forms.EmailField(required=False, label="PayPal email", help_text="Where payouts are sent.")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, to_field_name="code")
    is_test = forms.BooleanField(
        required=False, label="Test member", help_text="Test members' clicks and conversions are for checking set-up."
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = _projects(workspace)


class MemberImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 CSV, header line first.")


class OfferForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    conversion_type = forms.ChoiceField(choices=ConversionType.choices, initial=ConversionType.SALE)
    payout_type = forms.ChoiceField(choices=PayoutType.choices, initial=PayoutType.PERCENT, label="Payout option")
    payout_flat = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, label="Flat amount", help_text="Per conversion."
    )
    payout_percent = forms.DecimalField(
        required=False, max_digits=6, decimal_places=3, label="Percent of sale", help_text="0 to 100."
    )
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")
    protocol = forms.ChoiceField(
        choices=Protocol.choices, initial=Protocol.POSTBACK_TRANSACTION, label="Conversion tracking protocol"
    )
    connection = forms.ModelChoiceField(queryset=None, required=False, to_field_name="code", label="Network connection")
    offer_url = forms.CharField(
        max_length=2000,
        label="Offer URL",
        help_text="https only. Macros: {transaction_id} {affiliate_id} {offer_id} {sub1}..{sub5} {click_time}.",
        widget=forms.TextInput(attrs={"placeholder": "https://brand.sjv.io/c/123/456/789?subId1={transaction_id}"}),
    )
    ios_url = forms.CharField(
        max_length=2000,
        required=False,
        label="iOS URL",
        help_text="Clicks from iPhones and iPads go here instead (https, same macros). Empty: the offer URL.",
        widget=forms.TextInput(attrs={"placeholder": "https://brand.sjv.io/c/123/456/790?subId1={transaction_id}"}),
    )
    android_url = forms.CharField(
        max_length=2000,
        required=False,
        label="Android URL",
        help_text="Clicks from Android devices go here instead (https, same macros). Empty: the offer URL.",
        widget=forms.TextInput(attrs={"placeholder": "https://brand.sjv.io/c/123/456/791?subId1={transaction_id}"}),
    )
    utm_source = forms.CharField(max_length=100, required=False, label="UTM source")
    utm_medium = forms.CharField(max_length=100, required=False, label="UTM medium")
    utm_campaign = forms.CharField(max_length=100, required=False, label="UTM campaign")
    utm_content = forms.CharField(max_length=100, required=False, label="UTM content")
    utm_term = forms.CharField(max_length=100, required=False, label="UTM term")
    allowed_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "shop.example.com\n*.example.com"}),
        label="Allowed deep-link domains",
        help_text="One per line; *.example.com allows its subdomains. Empty: no deep links.",
    )
    starts_at = forms.DateTimeField(
        required=False,
        label="Starts",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        required=False,
        label="Ends",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    fallback_url = forms.CharField(
        max_length=2000,
        required=False,
        label="Fallback URL",
        help_text="Where visitors go while the offer is paused, scheduled or expired (https).",
    )
    allow_multiple_conversions = forms.BooleanField(required=False, label="Allow multiple conversions per click")
    attribution_window_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        initial=30,
        label="Attribution window (days)",
        help_text="A sale reported later than this after its click is held for review.",
    )
    agreed_commission_percent = forms.DecimalField(
        required=False,
        max_digits=6,
        decimal_places=3,
        label="Agreed network commission, percent of sale",
        help_text="What the network pays you; a payout far off it is held for review. Leave empty if unknown.",
    )
    agreed_commission_flat = forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=2,
        label="Agreed network commission, flat per sale",
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = list_connections(workspace=workspace)
        self.fields["connection"].empty_label = "No network (generic)"
        self.fields["currency"].initial = workspace.currency

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for name, problems in services.offer_problems(data).items():
            for problem in problems:
                self.add_error(name if name in self.fields else None, problem)
        return data

    @staticmethod
    def initial_for(offer: Offer) -> dict:
        initial = {name: getattr(offer, name) for name in services.OFFER_FIELDS}
        initial["connection"] = offer.connection.code if offer.connection else None
        return initial


class PayoutOverrideForm(forms.Form):
    member = forms.ModelChoiceField(queryset=None, to_field_name="code")
    payout_type = forms.ChoiceField(choices=PayoutType.choices, label="Payout option")
    payout_flat = forms.DecimalField(required=False, max_digits=12, decimal_places=2, label="Flat amount")
    payout_percent = forms.DecimalField(required=False, max_digits=6, decimal_places=3, label="Percent of sale")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = _active_members(workspace)
        self.fields["member"].empty_label = "Choose a member"
        label_widgets(self)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for name, problem in services.payout_problems(
            payout_type=data["payout_type"],
            payout_flat=data.get("payout_flat"),
            payout_percent=data.get("payout_percent"),
        ).items():
            self.add_error(name, problem)
        return data


class LinkFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, widget=_search("Code, vanity, member, offer or deep link"))
    offer = forms.ModelChoiceField(queryset=None, required=False, to_field_name="code", widget=_pick("Offer"))
    member = forms.ModelChoiceField(queryset=None, required=False, to_field_name="code", widget=_pick("Member"))

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = Offer.objects.filter(workspace=workspace).order_by("name")
        self.fields["offer"].empty_label = "All offers"
        self.fields["member"].queryset = Member.objects.filter(workspace=workspace).order_by("name")
        self.fields["member"].empty_label = "All members"


class LinkGenerateForm(forms.Form):
    """Links for one member, a selection, or a whole project (or both: their union)."""

    offer = forms.ModelChoiceField(queryset=None, to_field_name="code")
    members = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        to_field_name="code",
        help_text="One or several (Ctrl/Cmd-click).",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    project = forms.ModelChoiceField(
        queryset=None, required=False, to_field_name="code", help_text="Every active member of the project."
    )
    destination_url = forms.CharField(
        max_length=2000,
        required=False,
        label="Deep link",
        help_text="Optional landing page; must be on one of the offer's allowed domains.",
    )
    vanity = forms.CharField(
        max_length=50,
        required=False,
        label="Vanity slug",
        help_text="Optional, one member only: /c/ava-spring instead of a random code.",
    )
    sub1 = forms.CharField(max_length=255, required=False, label="sub1")
    sub2 = forms.CharField(max_length=255, required=False, label="sub2")
    sub3 = forms.CharField(max_length=255, required=False, label="sub3")
    sub4 = forms.CharField(max_length=255, required=False, label="sub4")
    sub5 = forms.CharField(max_length=255, required=False, label="sub5")
    allow_duplicates = forms.BooleanField(
        required=False,
        label="Also for members who already have a link for this offer",
        help_text="Off: members with a plain link for the offer are skipped.",
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["offer"].queryset = Offer.objects.filter(workspace=workspace, archived_at=None).order_by("name")
        self.fields["members"].queryset = _active_members(workspace)
        self.fields["project"].queryset = _projects(workspace)
        self.fields["project"].empty_label = "No project"

    def clean_vanity(self):
        vanity = self.cleaned_data["vanity"].strip()
        for problem in services.vanity_problems(vanity):
            raise forms.ValidationError(problem)
        return vanity

    def clean(self):
        data = super().clean()
        members = list(data.get("members") or [])
        project = data.get("project")
        if project is not None:
            members += [m for m in _active_members(self.workspace).filter(project=project) if m not in members]
        if not members and "members" not in self.errors:
            self.add_error("members", "Choose one or more members, or a project.")
        if data.get("vanity") and len(members) > 1:
            self.add_error("vanity", "A vanity slug belongs to one link: choose a single member.")
        offer = data.get("offer")
        if offer is not None and data.get("destination_url"):
            for problem in services.deep_link_problems(offer=offer, destination_url=data["destination_url"]):
                self.add_error("destination_url", problem)
        data["member_list"] = members
        return data

    def subs(self) -> dict:
        return {f"sub{i}": self.cleaned_data.get(f"sub{i}", "") for i in range(1, 6)}


class PromoCodeForm(forms.Form):
    text = forms.CharField(max_length=64, label="Promo code", help_text="Not case-sensitive; no spaces.")
    offer = forms.ModelChoiceField(
        queryset=Offer.objects.none(), required=False, to_field_name="code", label="For offer"
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = Offer.objects.filter(workspace=workspace, archived_at=None).order_by("name")
        self.fields["offer"].empty_label = "All of the member's offers"

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        problem = services.promo_code_problem(text)
        if problem:
            raise forms.ValidationError(problem)
        return text


class PayoutRuleForm(forms.Form):
    match = forms.ChoiceField(choices=PayoutRule.Match.choices, label="Match items by")
    value = forms.CharField(max_length=100, label="SKU or category", help_text="Not case-sensitive.")
    payout_type = forms.ChoiceField(choices=PayoutRule.Kind.choices, label="Payout")
    payout_flat = forms.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0, label="Flat per unit"
    )
    payout_percent = forms.DecimalField(
        required=False, max_digits=6, decimal_places=3, min_value=0, max_value=100, label="Percent of the item's sale"
    )

    def clean(self):
        data = super().clean()
        if not self.errors:
            problems = services.payout_rule_problems(
                match=data["match"],
                value=data["value"],
                payout_type=data["payout_type"],
                flat=data.get("payout_flat"),
                percent=data.get("payout_percent"),
            )
            for name, message in problems.items():
                self.add_error(name, message)
        return data
