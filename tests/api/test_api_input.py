"""The API takes what its schema says and nothing else: 400 for the wrong shape, 422 for a broken rule."""

import base64

import pytest

from offers.models import Member, Offer
from tests.reports.reportdata import build_report_world

OFFER = {
    "name": "Boots",
    "payout_type": "flat",
    "payout_flat": "5.00",
    "offer_url": "https://shop.test/?t={transaction_id}",
}


def test_a_json_value_of_the_wrong_type_is_refused_not_converted(api, workspace):
    r = api.post("/api/v1/members/create/", {"name": 1, "is_test": "yes"}, format="json")
    assert r.status_code == 400
    assert r.json()["fields"] == {"name": ["Must be a string."], "is_test": ["Must be true or false."]}
    r = api.post("/api/v1/offers/create/", {**OFFER, "payout_flat": 5}, format="json")
    assert r.status_code == 400
    assert r.json()["fields"] == {"payout_flat": ["Must be a string."]}
    assert not Member.objects.exists() and not Offer.objects.exists()


def test_a_field_the_schema_does_not_name_is_refused(api, workspace):
    r = api.post("/api/v1/members/create/", {"name": "Ava", "paypal_emial": "ava@x.test"}, format="json")
    assert r.status_code == 400
    assert r.json()["fields"] == {"paypal_emial": ["Unknown field."]}


def test_problems_of_every_field_are_reported_together(api, workspace):
    r = api.post("/api/v1/links/create/", {"offer": "x", "extra": 1}, format="json")
    assert r.status_code == 400
    assert set(r.json()["fields"]) == {"offer", "member", "extra"}


@pytest.mark.parametrize(
    "name,status",
    [
        ("Ava", 201),
        ("   ", 400),
        ("", 400),
        ("A\x00va", 400),
        ("x" * 120, 201),
        ("x" * 121, 400),
        ("\x0c" + "x" * 119, 201),
    ],
)
def test_names_are_checked_as_sent(api, workspace, name, status):
    # Trimmed white space is counted: 121 characters are too many even if trimming leaves 120.
    r = api.post("/api/v1/members/create/", {"name": name}, format="json")
    assert r.status_code == status, r.json()
    r = api.post("/api/v1/members/create/", {"name": "\x0c" + "x" * 120}, format="json")
    assert r.status_code == 400


def test_emails_are_addresses_or_null(api, workspace):
    r = api.post("/api/v1/members/create/", {"name": "Ava", "email": None}, format="json")
    assert r.status_code == 201 and r.json()["email"] is None and r.json()["paypal_email"] is None
    assert Member.objects.get(code=r.json()["code"]).email == ""
    for email in ("", "ava", "ava@localhost", "ava@b", "ava@[127.0.0.1]", "ava@ü.example"):
        r = api.post("/api/v1/members/create/", {"name": "Ava", "email": email}, format="json")
        assert r.status_code == 400, email
    r = api.post("/api/v1/members/create/", {"name": "Ava", "email": "ava@shop.example"}, format="json")
    assert r.status_code == 201 and r.json()["email"] == "ava@shop.example"


@pytest.mark.parametrize(
    "field,value,status",
    [
        ("payout_flat", "5", 201),
        ("payout_flat", "5.5", 201),
        ("payout_flat", "-5", 400),
        ("payout_flat", "5.", 400),
        ("payout_flat", " 5", 400),
        ("payout_flat", "5e2", 400),
        ("payout_flat", "\u0665", 400),  # an Arabic-Indic five: a digit to Python, not to the schema
        ("payout_flat", "12345678901", 400),
        ("payout_percent", "100", 201),
        ("payout_percent", "100.000", 201),
        ("payout_percent", "100.001", 400),
        ("payout_percent", "99.999", 201),
    ],
)
def test_amounts_are_strings_of_digits(api, workspace, field, value, status):
    data = {**OFFER, "payout_type": "flat" if field == "payout_flat" else "percent", field: value}
    r = api.post("/api/v1/offers/create/", data, format="json")
    assert r.status_code == status, r.json()


@pytest.mark.parametrize(
    "value,status",
    [
        ("2026-03-01T10:00:00Z", 201),
        ("2026-03-01t10:00:00z", 201),  # RFC 3339 allows lower case
        ("2026-03-01T10:00:00+05:30", 201),
        ("2026-03-01T10:00:00", 400),  # no offset
        ("2026-03-01 10:00:00Z", 400),
        ("2026-02-30T10:00:00Z", 400),
        ("0000-01-01T00:00:00Z", 422),  # well-formed, but no year Python can hold
        ("0001-01-01T00:00:00+05:00", 422),
        ("2026-03-01T23:59:60Z", 422),  # a leap second
    ],
)
def test_times_are_rfc_3339(api, workspace, value, status):
    r = api.post("/api/v1/offers/create/", {**OFFER, "starts_at": value}, format="json")
    assert r.status_code == status, r.json()


def test_codes_are_canonical_uuids(api, workspace):
    member = Member.objects.create(workspace=workspace, name="Ava")
    for code in (member.code.hex, "{" + str(member.code) + "}", f"urn:uuid:{member.code}"):
        assert api.get("/api/v1/links/", {"member": code}).status_code == 400, code
    assert api.get("/api/v1/links/", {"member": str(member.code).upper()}).status_code == 200


def test_a_cursor_we_did_not_write_is_refused(api, workspace):
    build_report_world(workspace)
    forged = base64.b64encode(b"p=not-a-time").decode()
    for cursor in ("garbage", forged):
        r = api.get("/api/v1/clicks/", {"cursor": cursor})
        assert r.status_code == 422, cursor
        assert r.json() == {"error": "Invalid input.", "fields": {"cursor": ["Invalid cursor."]}}
    assert api.get("/api/v1/clicks/", {"cursor": ""}).status_code == 200


def test_a_rule_refusal_is_a_422_with_the_reason(api, workspace):
    r = api.post("/api/v1/offers/create/", {**OFFER, "offer_url": "https://shop.test/"}, format="json")
    assert r.status_code == 422
    assert "{transaction_id}" in r.json()["error"]
