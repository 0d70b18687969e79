"""Links: copy, QR codes, figures per link, the deep-link builder and vanity slug requests."""

from django.urls import reverse

from offers.models import Link, Offer
from portal.models import VanityRequest
from tests.portal.helpers import member_rows, sign_in_as


def test_links_list_each_link_with_copy_qr_and_figures(client, ava, ben):
    rows = member_rows(ava.member)
    member_rows(ben.member, tag="ben")
    sign_in_as(client, ava)
    page = client.get(reverse("portal:links")).content.decode()
    assert rows["link"].url in page and 'data-copy="#url-' in page
    assert "1 click · 1 conversion" in page
    assert page.count('class="link-card"') == 1  # Ben's link is not listed
    assert reverse("portal:link_qr_svg", args=[rows["link"].code]) in page


def test_qr_codes_download(client, ava):
    rows = member_rows(ava.member)
    sign_in_as(client, ava)
    png = client.get(reverse("portal:link_qr_png", args=[rows["link"].code]))
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = client.get(reverse("portal:link_qr_svg", args=[rows["link"].code]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_the_deep_link_builder_makes_a_link_to_an_allowed_domain(client, ava):
    rows = member_rows(ava.member)
    sign_in_as(client, ava)
    r = client.post(reverse("portal:links"), {"link": rows["link"].code, "url": "https://shop.test/boots?c=1"})
    made = Link.objects.exclude(pk=rows["link"].pk).get()
    assert r.status_code == 302 and r["Location"] == reverse("portal:link_detail", args=[made.code])
    assert (made.member, made.offer, made.destination_url) == (ava.member, rows["offer"], "https://shop.test/boots?c=1")


def test_the_deep_link_builder_refuses_other_domains_next_to_the_field(client, ava):
    rows = member_rows(ava.member)
    sign_in_as(client, ava)
    for url in ("https://evil.test/x", "javascript:alert(1)", "https://shop.test@evil.test/"):
        r = client.post(reverse("portal:links"), {"link": rows["link"].code, "url": url})
        assert r.status_code == 400
        assert "must be https/http URLs on: shop.test" in r.context["deep_form"].errors["url"][0]
    assert Link.objects.count() == 1


def test_the_deep_link_builder_refuses_another_members_link(client, ava, ben):
    theirs = member_rows(ben.member, tag="ben")
    member_rows(ava.member)
    sign_in_as(client, ava)
    r = client.post(reverse("portal:links"), {"link": theirs["link"].code, "url": "https://shop.test/"})
    assert r.status_code == 400 and Link.objects.count() == 2


def test_offers_without_domains_say_so(client, ava):
    rows = member_rows(ava.member)
    Offer.objects.filter(pk=rows["offer"].pk).update(allowed_domains="")
    sign_in_as(client, ava)
    assert "None of your offers allows deep links" in client.get(reverse("portal:links")).content.decode()


def test_a_vanity_slug_is_requested_and_approved_by_the_brand(client, alice_client, ava):
    rows = member_rows(ava.member)
    portal = client.__class__()
    sign_in_as(portal, ava)
    portal.post(reverse("portal:request_vanity", args=[rows["link"].code]), {"slug": "ava-spring"})
    request = VanityRequest.objects.get()
    assert (request.slug, request.status, request.member) == ("ava-spring", "pending", ava.member)
    assert "waiting for the brand" in portal.get(reverse("portal:links")).content.decode()
    overview = alice_client.get(reverse("portal_staff:overview")).content.decode()
    assert "/c/ava-spring" in overview
    alice_client.post(reverse("portal_staff:decide_vanity", args=[request.code, "approve"]))
    rows["link"].refresh_from_db()
    assert rows["link"].vanity == "ava-spring"
    assert "/c/ava-spring" in portal.get(reverse("portal:links")).content.decode()


def test_a_declined_request_leaves_the_link_alone(alice_client, ava):
    rows = member_rows(ava.member)
    request = VanityRequest.objects.create(workspace=ava.workspace, member=ava.member, link=rows["link"], slug="ava-x")
    alice_client.post(reverse("portal_staff:decide_vanity", args=[request.code, "decline"]))
    request.refresh_from_db()
    rows["link"].refresh_from_db()
    assert request.status == "declined" and rows["link"].vanity is None


def test_a_taken_or_malformed_slug_is_refused(client, ava, ben):
    rows = member_rows(ava.member)
    theirs = member_rows(ben.member, tag="ben")
    Link.objects.filter(pk=theirs["link"].pk).update(vanity="taken-one")
    sign_in_as(client, ava)
    for slug, problem in (("taken-one", "is taken"), ("No Spaces!", "lower-case letters")):
        r = client.post(reverse("portal:request_vanity", args=[rows["link"].code]), {"slug": slug}, follow=True)
        assert problem in r.content.decode()
    assert not VanityRequest.objects.exists()


def test_deciding_needs_the_manage_right(bob_client, workspace, bob, ava):
    from tests.conftest import set_role

    set_role(bob, workspace, "viewer")
    rows = member_rows(ava.member)
    request = VanityRequest.objects.create(workspace=ava.workspace, member=ava.member, link=rows["link"], slug="ava-x")
    assert bob_client.post(reverse("portal_staff:decide_vanity", args=[request.code, "approve"])).status_code == 403


def test_a_click_and_a_conversion_of_ones_own_open(client, ava):
    rows = member_rows(ava.member)
    sign_in_as(client, ava)
    assert (
        rows["click"].transaction_id
        in client.get(reverse("portal:click_detail", args=[rows["click"].transaction_id])).content.decode()
    )
    assert (
        "10.00 USD" in client.get(reverse("portal:conversion_detail", args=[rows["conversion"].code])).content.decode()
    )


def test_another_members_link_is_a_portal_404_page(client, ava, ben, settings):
    settings.DEBUG = False
    theirs = member_rows(ben.member, tag="ben")
    sign_in_as(client, ava)
    r = client.get(reverse("portal:link_detail", args=[theirs["link"].code]))
    assert r.status_code == 404
    page = r.content.decode()
    assert "another member or another brand" in page and reverse("portal:home") in page
    assert theirs["link"].url not in page
