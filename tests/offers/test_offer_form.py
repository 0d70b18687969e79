from decimal import Decimal

import pytest
from django.urls import reverse

from offers.models import NetworkConnection, Offer
from tests.conftest import set_role


def offer_data(**kw):
    data = {
        "name": "Spring Sale",
        "description": "Tents and stoves",
        "conversion_type": "sale",
        "payout_type": "percent",
        "payout_percent": "10",
        "currency": "USD",
        "protocol": "server_postback_transaction_id",
        "offer_url": "https://shop.example.com/?tid={transaction_id}",
        "utm_source": "hub",
        "utm_medium": "affiliate",
        "utm_campaign": "spring",
        "allowed_domains": "shop.example.com\n*.example.org",
        "fallback_url": "https://shop.example.com/sold-out",
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def post(client, **kw):
    return client.post(reverse("offers:add_offer"), offer_data(**kw))


def errors(r):
    return {k: " ".join(v) for k, v in r.context["form"].errors.items()}


def test_it_creates_an_offer_with_every_field(alice_client, workspace, impact):
    r = post(
        alice_client,
        connection=str(impact.code),
        payout_type="flat_percent",
        payout_flat="2.50",
        payout_percent="5",
        protocol="https_image_pixel",
        offer_url="https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
        utm_content="bio",
        utm_term="tent",
        starts_at="2026-01-01T00:00",
        ends_at="2026-12-31T23:59",
        allow_multiple_conversions="on",
        conversion_type="lead",
    )
    offer = Offer.objects.get(workspace=workspace)
    assert r.status_code == 302 and r.url == reverse("tracking:offer_detail", args=[offer.code])
    assert offer.connection == impact
    assert offer.payout_type == "flat_percent"
    assert offer.payout_flat == Decimal("2.50") and offer.payout_percent == Decimal("5")
    assert offer.protocol == "https_image_pixel" and offer.conversion_type == "lead"
    assert offer.utm_source == "hub" and offer.utm_term == "tent" and offer.utm_content == "bio"
    assert offer.allowed_domain_list == ["shop.example.com", "*.example.org"]
    assert offer.starts_at.tzinfo is not None and offer.ends_at > offer.starts_at
    assert offer.allow_multiple_conversions
    assert offer.fallback_url == "https://shop.example.com/sold-out"


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://shop.example.com/?tid={transaction_id}", "must start with https://"),
        ("https:///?tid={transaction_id}", "needs a host name"),
        ("https://shop.example.com/?tid={transaction_id}&x={coupon}", "Unknown macro(s): {coupon}"),
        ("https://shop.example.com/?tid={txn}&{bogus}", "{txn}, {bogus}"),
        ("https://shop.example.com/", "needs {transaction_id}"),
        ("https://user:pw@shop.example.com/?t={transaction_id}", "user name or password"),
        ("https://shop.example.com:99999/?t={transaction_id}", "cannot be parsed"),
        ("https://shop.example.com/a b?t={transaction_id}", "spaces"),
        ("javascript:alert(1)//{transaction_id}", "https://"),
        ("", "This field is required"),
    ],
)
def test_it_validates_the_offer_url(alice_client, url, message):
    r = post(alice_client, offer_url=url)
    assert r.status_code == 400
    assert message in errors(r)["offer_url"]
    assert not Offer.objects.exists()


def test_the_affiliate_id_protocol_needs_the_affiliate_id_macro(alice_client):
    r = post(alice_client, protocol="server_postback_affiliate_id")
    assert "needs {affiliate_id}" in errors(r)["offer_url"]
    r = post(
        alice_client, protocol="server_postback_affiliate_id", offer_url="https://shop.example.com/?a={affiliate_id}"
    )
    assert r.status_code == 302


def test_the_image_pixel_protocol_needs_the_transaction_id(alice_client):
    r = post(alice_client, protocol="https_image_pixel", offer_url="https://shop.example.com/?a={affiliate_id}")
    assert "needs {transaction_id}" in errors(r)["offer_url"]


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"fallback_url": "http://shop.example.com/"}, "fallback_url", "https://"),
        ({"fallback_url": "https://shop.example.com/?t={transaction_id}"}, "fallback_url", "cannot contain macros"),
        ({"starts_at": "2026-05-01T00:00", "ends_at": "2026-04-01T00:00"}, "ends_at", "after the start"),
        ({"starts_at": "2026-05-01T00:00", "ends_at": "2026-05-01T00:00"}, "ends_at", "after the start"),
        ({"payout_type": "flat", "payout_flat": ""}, "payout_flat", "Enter the flat amount"),
        ({"payout_type": "flat", "payout_flat": "-1"}, "payout_flat", "cannot be negative"),
        ({"payout_type": "percent", "payout_percent": "101"}, "payout_percent", "between 0 and 100"),
        ({"payout_type": "percent", "payout_percent": "-5"}, "payout_percent", "between 0 and 100"),
        ({"attribution_window_days": "0"}, "attribution_window_days", "greater than or equal to 1"),
        ({"agreed_commission_percent": "120"}, "agreed_commission_percent", "between 0 and 100"),
        ({"agreed_commission_flat": "-2"}, "agreed_commission_flat", "cannot be negative"),
        ({"payout_type": "percent", "payout_percent": ""}, "payout_percent", "Enter the percent"),
        (
            {"payout_type": "flat_percent", "payout_flat": "2", "payout_percent": ""},
            "payout_percent",
            "Enter the percent",
        ),
        ({"payout_type": "flat", "payout_flat": "NaN"}, "payout_flat", "Enter a number"),
        ({"allowed_domains": "shop.example.com\nnot a domain"}, "allowed_domains", "'not a domain' is not a host"),
        ({"connection": "00000000-0000-0000-0000-000000000000"}, "connection", "valid choice"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_it_validates_the_other_fields(alice_client, fields, field, message):
    r = post(alice_client, **fields)
    assert r.status_code == 400
    assert message in errors(r)[field]
    assert not Offer.objects.exists()


def test_pass_through_needs_no_payout_values(alice_client):
    r = post(alice_client, payout_type="passthrough", payout_percent="")
    assert r.status_code == 302
    assert Offer.objects.get().payout_type == "passthrough"


def test_it_refuses_another_workspaces_connection(alice_client, other_workspace):
    theirs = NetworkConnection.objects.create(workspace=other_workspace, kind="impact", label="Theirs")
    r = post(alice_client, connection=str(theirs.code))
    assert r.status_code == 400
    assert "valid choice" in errors(r)["connection"]


@pytest.mark.parametrize(
    "kind, url, expected",
    [
        (
            "impact",
            "https://brand.sjv.io/c/1/2/3",
            "https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
        ),
        (
            "impact",
            "https://brand.sjv.io/c/1/2/3?subId1={transaction_id}",
            "https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
        ),
        (
            "shareasale",
            "https://shareasale.com/r.cfm?b=1&u=2&m=3",
            "https://shareasale.com/r.cfm?b=1&u=2&m=3&afftrack={transaction_id}",
        ),
        (
            "awin",
            "https://www.awin1.com/cread.php?awinmid=1&awinaffid=2",
            "https://www.awin1.com/cread.php?awinmid=1&awinaffid=2&clickref2={transaction_id}",
        ),
        ("generic", "https://shop.example.com/", "https://shop.example.com/"),
    ],
)
def test_it_appends_the_networks_tracking_parameters(alice_client, workspace, kind, url, expected):
    conn = NetworkConnection.objects.create(workspace=workspace, kind=kind, label=kind)
    data = offer_data(offer_url=url, connection=str(conn.code), append_params="1")
    r = alice_client.post(reverse("offers:add_offer"), data)  # the no-JavaScript path re-renders the form
    assert r.status_code == 200
    assert r.context["form"]["offer_url"].value() == expected
    assert not Offer.objects.exists()
    r = alice_client.post(reverse("offers:offer_network_params"), {"offer_url": url, "connection": str(conn.code)})
    assert r.status_code == 200
    assert r.context["form"]["offer_url"].value() == expected
    assert r["HX-Trigger-After-Swap"] == "offer-url-changed"


def test_it_guesses_the_network_from_the_url_without_a_connection(alice_client):
    r = alice_client.post(
        reverse("offers:offer_network_params"), {"offer_url": "https://shareasale.com/r.cfm?b=1&u=2&m=3"}
    )
    assert r.context["form"]["offer_url"].value().endswith("&afftrack={transaction_id}")


def test_unparseable_urls_get_a_clear_answer_not_an_error(alice_client, impact):
    bad = "https://[::1/c/1?x={transaction_id}"
    r = alice_client.post(reverse("offers:offer_network_params"), {"offer_url": bad, "connection": str(impact.code)})
    assert r.status_code == 200
    assert r.context["form"]["offer_url"].value() == bad
    r = alice_client.post(reverse("offers:add_offer"), offer_data(offer_url=bad, append_params="1"))
    assert r.status_code == 200
    r = alice_client.post(reverse("offers:offer_preview"), offer_data(offer_url=bad))
    assert r.context["problems"] == ["This URL cannot be parsed."]
    assert "cannot be parsed" in errors(post(alice_client, offer_url=bad))["offer_url"]


def test_the_live_preview_renders_a_generated_link(alice_client, workspace):
    from tests.offers.conftest import make_member

    ava = make_member(workspace, "Ava")
    r = alice_client.post(
        reverse("offers:offer_preview"),
        offer_data(offer_url="https://shop.example.com/p?tid={transaction_id}&aff={affiliate_id}"),
    )
    assert r.status_code == 200
    dest = r.context["destination"]
    assert dest.startswith("https://shop.example.com/p?tid=")
    assert f"aff={ava.affiliate_id}" in dest
    assert "utm_source=hub&utm_medium=affiliate&utm_campaign=spring" in dest
    assert "{" not in dest
    r = alice_client.post(reverse("offers:offer_preview"), offer_data(offer_url="http://x.test/{nope}"))
    assert r.context["problems"] and b"Preview appears once" in r.content


def test_the_form_links_to_networks_when_there_is_no_connection(alice_client):
    r = alice_client.get(reverse("offers:add_offer"))
    assert r.status_code == 200
    assert b'href="/networks/"' in r.content


def test_it_edits_an_offer(alice_client, workspace, offer):
    r = alice_client.get(reverse("offers:edit_offer", args=[offer.code]))
    assert r.context["form"]["offer_url"].value() == offer.offer_url
    r = alice_client.post(
        reverse("offers:edit_offer", args=[offer.code]), offer_data(name="Renamed", payout_percent="12.5")
    )
    assert r.status_code == 302
    offer.refresh_from_db()
    assert offer.name == "Renamed" and offer.payout_percent == Decimal("12.5")
    r = alice_client.post(reverse("offers:edit_offer", args=[offer.code]), offer_data(offer_url="https://x.test/"))
    assert r.status_code == 400
    offer.refresh_from_db()
    assert offer.offer_url == "https://shop.example.com/?tid={transaction_id}"


def test_the_edit_form_keeps_the_schedule(alice_client, offer, settings):
    settings.TIME_ZONE = "UTC"
    post_data = offer_data(starts_at="2026-03-01T09:30", ends_at="2026-04-01T18:00")
    assert alice_client.post(reverse("offers:edit_offer", args=[offer.code]), post_data).status_code == 302
    r = alice_client.get(reverse("offers:edit_offer", args=[offer.code]))
    # datetime-local inputs only show values in this exact format.
    assert b'type="datetime-local" name="starts_at" value="2026-03-01T09:30"' in r.content
    assert b'value="2026-04-01T18:00"' in r.content


def test_it_requires_write_access(bob_client, bob, workspace, offer):
    set_role(bob, workspace, "viewer")
    assert bob_client.get(reverse("offers:new_offer")).status_code == 403
    assert post(bob_client).status_code == 403
    r = bob_client.post(reverse("offers:edit_offer", args=[offer.code]), offer_data(name="X"))
    assert r.status_code == 403
    assert bob_client.post(reverse("offers:offer_network_params"), {"offer_url": "https://x"}).status_code == 403
    assert Offer.objects.get().name == "Spring Sale"


def test_it_checks_ownership(charlie_client, offer):
    r = charlie_client.post(reverse("offers:edit_offer", args=[offer.code]), offer_data(name="Mine"))
    assert r.status_code == 404
    offer.refresh_from_db()
    assert offer.name == "Spring Sale"


def test_the_window_and_the_agreed_commission_are_saved(alice_client, workspace):
    r = post(alice_client, attribution_window_days="45", agreed_commission_percent="8", agreed_commission_flat="")
    assert r.status_code == 302, errors(r)
    offer = Offer.objects.get(workspace=workspace)
    assert offer.attribution_window_days == 45
    assert (offer.agreed_commission_percent, offer.agreed_commission_flat) == (Decimal("8"), None)
    default = post(alice_client, name="Defaults", attribution_window_days="")
    assert default.status_code == 302
    assert Offer.objects.get(workspace=workspace, name="Defaults").attribution_window_days == 30


IOS = "https://apps.shop.example.com/ios?tid={transaction_id}"
ANDROID = "https://apps.shop.example.com/android?tid={transaction_id}"


def test_device_urls_are_saved_shown_and_previewed(alice_client, workspace):
    from tests.offers.conftest import make_member

    make_member(workspace, "Ava")
    assert post(alice_client, ios_url=IOS, android_url=ANDROID).status_code == 302
    offer = Offer.objects.get(workspace=workspace)
    assert (offer.ios_url, offer.android_url) == (IOS, ANDROID)
    page = alice_client.get(reverse("tracking:offer_detail", args=[offer.code])).content.decode()
    assert 'id="ios-url">https://apps.shop.example.com/ios?tid={transaction_id}</code>' in page
    assert "for clicks from Android devices" in page
    edit = alice_client.get(reverse("offers:edit_offer", args=[offer.code])).content.decode()
    assert 'value="https://apps.shop.example.com/android?tid={transaction_id}"' in edit
    r = alice_client.post(reverse("offers:offer_preview"), offer_data(ios_url=IOS, android_url=ANDROID))
    assert [device for device, _ in r.context["devices"]] == ["ios", "android"]
    assert r.context["devices"][0][1].startswith("https://apps.shop.example.com/ios?tid=")
    assert b"From an iPhone or iPad" in r.content


@pytest.mark.parametrize(
    ("field", "url", "message"),
    [
        ("ios_url", "http://apps.shop.example.com/ios?tid={transaction_id}", "must start with https://"),
        ("android_url", "https://apps.shop.example.com/android", "needs {transaction_id} in the Android URL"),
        ("ios_url", "https://apps.shop.example.com/?t={transaction_id}&c={coupon}", "Unknown macro(s): {coupon}"),
    ],
)
def test_device_urls_are_checked_like_the_offer_url(alice_client, field, url, message):
    r = post(alice_client, **{field: url})
    assert r.status_code == 400
    assert message in errors(r)[field]
    assert not Offer.objects.exists()
