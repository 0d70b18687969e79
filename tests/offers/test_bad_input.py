"""Bad input on any offers, members or links form gets a 4xx or the form again, never a 500."""

import pytest
from django.urls import reverse

from offers import forms
from offers.models import Link, Member, Offer, Project

NASTY = [
    "",
    "\x00",
    "x" * 5000,
    "[",
    "https://[::1",
    "{transaction_id",
    "ß://ü.例え",
    "-1e999",
    "NaN",
    "'; DROP TABLE x;--",
]


def fields_of(form_class):
    return list(form_class.base_fields)


ENDPOINTS = [
    ("offers:add_project", None, forms.ProjectForm),
    ("offers:edit_project", "project", forms.ProjectForm),
    ("offers:add_member", None, forms.MemberForm),
    ("offers:edit_member", "member", forms.MemberForm),
    ("offers:add_offer", None, forms.OfferForm),
    ("offers:edit_offer", "offer", forms.OfferForm),
    ("offers:offer_preview", None, forms.OfferForm),
    ("offers:offer_network_params", None, forms.OfferForm),
    ("offers:add_override", "offer", forms.PayoutOverrideForm),
    ("offers:add_links", None, forms.LinkGenerateForm),
]


@pytest.mark.parametrize("name, arg, form_class", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_nasty_values_never_cause_a_server_error(
    alice_client, workspace, offer, member, project, name, arg, form_class
):
    objects = {"offer": offer, "member": member, "project": project}
    url = reverse(name, kwargs={"code": objects[arg].code} if arg else {})
    for value in NASTY:
        data = {field: value for field in fields_of(form_class)}
        r = alice_client.post(url, data)
        assert r.status_code < 500, (name, value)
    for verb in ("get",):
        assert getattr(alice_client, verb)(url + "?offer=[&members=%00&page=-1").status_code < 500


@pytest.mark.parametrize(
    "path", ["/members/", "/links/", "/offers/", "/projects/", "/members/export.csv", "/links/export.csv"]
)
def test_list_filters_ignore_garbage(alice_client, member, link, path):
    for value in NASTY[:7]:
        r = alice_client.get(
            path,
            {
                "q": value,
                "project": value,
                "status": value,
                "test": value,
                "offer": value,
                "member": value,
                "state": value,
                "page": value,
            },
        )
        assert r.status_code == 200, (path, value)
    assert Member.objects.count() == 1 and Link.objects.count() == 1 and Offer.objects.count() == 1
    assert Project.objects.count() == 1
