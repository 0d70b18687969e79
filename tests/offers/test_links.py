import io
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from PIL import Image

from offers import services
from offers.models import Link
from tests.conftest import set_role
from tests.offers.conftest import make_member, make_offer
from workspaces.errors import DomainError


def generate(client, offer, members=(), **kw):
    data = {"offer": str(offer.code), "members": [str(m.code) for m in members], **kw}
    return client.post(reverse("offers:add_links"), data)


def test_it_generates_a_link_for_one_member(alice_client, workspace, offer, member, settings):
    settings.SITE_URL = "https://go.brand.test"
    r = generate(alice_client, offer, [member])
    assert r.status_code == 200
    link = Link.objects.get()
    assert link.workspace == workspace and link.offer == offer and link.member == member
    assert len(link.code) == 8 and link.code.isalnum()
    assert link.url == f"https://go.brand.test/c/{link.code}"
    assert link.url.encode() in r.content
    assert f'data-copy="#link-{link.code}"'.encode() in r.content


def test_it_generates_for_a_selection_and_a_whole_project_idempotently(alice_client, workspace, offer, project):
    a = make_member(workspace, "A", project=project)
    b = make_member(workspace, "B", project=project)
    c = make_member(workspace, "C")
    make_member(workspace, "Archived", project=project, status="archived")
    r = generate(alice_client, offer, [a, c])
    assert len(r.context["report"].created) == 2
    r = generate(alice_client, offer, project=str(project.code))
    report = r.context["report"]
    assert [link.member for link in report.created] == [b]  # a already has a plain link
    assert report.skipped == [a]
    assert Link.objects.count() == 3
    r = generate(alice_client, offer, project=str(project.code))
    assert r.context["report"].created == []
    r = generate(alice_client, offer, [a], allow_duplicates="on")
    assert len(r.context["report"].created) == 1
    assert Link.objects.filter(member=a).count() == 2
    assert len({link.code for link in Link.objects.all()}) == 4


def test_links_with_subids_or_deep_links_are_always_new(alice_client, offer, member, link):
    r = generate(alice_client, offer, [member], sub1="youtube", sub5="bio")
    new = r.context["report"].created[0]
    assert new.sub1 == "youtube" and new.sub5 == "bio" and new != link


def test_the_deep_link_must_be_on_an_allowed_domain(alice_client, offer, member):
    r = generate(alice_client, offer, [member], destination_url="https://evil.test/shop.example.com")
    assert r.status_code == 400
    assert (
        "must be https/http URLs on: shop.example.com, *.example.org" in r.context["form"].errors["destination_url"][0]
    )
    for bad in ("//evil.test/", "https://shop.example.com@evil.test/", "javascript:alert(1)", "https://example.org/"):
        r = generate(alice_client, offer, [member], destination_url=bad)
        assert r.status_code == 400, bad
    assert not Link.objects.exists()
    r = generate(alice_client, offer, [member], destination_url="https://www.example.org/tents?color=red")
    assert r.status_code == 200
    assert Link.objects.get().destination_url == "https://www.example.org/tents?color=red"


def test_an_offer_without_domains_allows_no_deep_links(alice_client, workspace, member):
    offer = make_offer(workspace, name="Closed")
    r = generate(alice_client, offer, [member], destination_url="https://shop.example.com/")
    assert "allows no deep links" in r.context["form"].errors["destination_url"][0]


@pytest.mark.parametrize(
    "vanity, message",
    [
        ("Ava-Spring", "lower-case"),
        ("ab", "lower-case"),
        ("-ava", "lower-case"),
        ("ava spring", "lower-case"),
        ("a" * 51, "at most 50"),
    ],
)
def test_it_validates_the_vanity_slug(alice_client, offer, member, vanity, message):
    r = generate(alice_client, offer, [member], vanity=vanity)
    assert r.status_code == 400
    assert message in r.context["form"].errors["vanity"][0]


def test_a_vanity_slug_is_unique_and_for_one_member(alice_client, workspace, offer, member, link, settings):
    settings.SITE_URL = "https://go.brand.test"
    r = generate(alice_client, offer, [member], vanity="ava-spring")
    created = r.context["report"].created[0]
    assert created.vanity == "ava-spring" and created.url == "https://go.brand.test/c/ava-spring"
    r = generate(alice_client, offer, [member], vanity="ava-spring")
    assert "is taken" in r.context["form"].errors["vanity"][0]
    other = make_member(workspace, "Ben")
    r = generate(alice_client, offer, [member, other], vanity="two-people")
    assert "single member" in r.context["form"].errors["vanity"][0]
    # A vanity shares /c/ with link codes: one that equals an existing code is refused.
    Link.objects.filter(pk=link.pk).update(code="summer24")
    r = generate(alice_client, offer, [member], vanity="summer24")
    assert "is taken" in r.context["form"].errors["vanity"][0]


def test_it_needs_members_and_a_current_offer(alice_client, workspace, offer, member):
    r = generate(alice_client, offer, [])
    assert "Choose one or more members" in r.context["form"].errors["members"][0]
    offer.archived_at = offer.created_at
    offer.save(update_fields=["archived_at"])
    r = generate(alice_client, offer, [member])
    assert "valid choice" in r.context["form"].errors["offer"][0]
    with pytest.raises(DomainError, match="archived"):
        services.generate_links(offer=offer, members=[member])


def test_it_refuses_another_workspaces_member_or_offer(alice_client, workspace, other_workspace, offer, member):
    theirs = make_member(other_workspace, "Theirs")
    their_offer = make_offer(other_workspace)
    assert generate(alice_client, offer, [theirs]).status_code == 400
    assert generate(alice_client, their_offer, [member]).status_code == 400
    with pytest.raises(DomainError):
        services.generate_links(offer=offer, members=[theirs])
    assert not Link.objects.exists()


def test_the_form_prefills_from_the_query_and_shows_an_empty_state(alice_client, workspace, offer, member):
    r = alice_client.get(reverse("offers:add_links"), {"offer": str(offer.code), "members": str(member.code)})
    assert r.context["form"]["offer"].value() == str(offer.code)
    offer.delete()
    r = alice_client.get(reverse("offers:add_links"))
    assert b"no offer to link to yet" in r.content


def test_qr_codes_download_as_png_and_svg(alice_client, link):
    r = alice_client.get(reverse("offers:link_qr_png", args=[link.code]))
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(r.content))
    assert image.size[0] == image.size[1] > 100
    assert f'filename="link-{link.code}.png"' in r["Content-Disposition"]
    r = alice_client.get(reverse("offers:link_qr_svg", args=[link.code]))
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(r.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None


def test_the_qr_code_encodes_the_link_url(link):
    import qrcode

    image = Image.open(io.BytesIO(services.link_qr_png(link))).convert("1")
    expected = qrcode.make(link.url, box_size=8, border=2).get_image().convert("1")
    assert image.tobytes() == expected.tobytes()
    other = qrcode.make(link.url + "x", box_size=8, border=2).get_image().convert("1")
    assert image.tobytes() != other.tobytes()


def test_it_archives_a_link(alice_client, link, member):
    back = reverse("tracking:member_detail", args=[member.code])
    r = alice_client.post(reverse("offers:archive_link", args=[link.code]), {"next": back})
    assert r.status_code == 302 and r.url == back
    link.refresh_from_db()
    assert link.archived_at is not None
    r = alice_client.post(reverse("offers:archive_link", args=[link.code]), {"next": "https://evil.test/"})
    assert r.url == reverse("reports:link_list")


def test_it_requires_write_access(bob_client, bob, workspace, offer, member, link):
    set_role(bob, workspace, "viewer")
    assert generate(bob_client, offer, [member]).status_code == 403
    assert bob_client.post(reverse("offers:archive_link", args=[link.code])).status_code == 403
    assert bob_client.get(reverse("offers:link_qr_png", args=[link.code])).status_code == 200
    link.refresh_from_db()
    assert link.archived_at is None and Link.objects.count() == 1


def test_it_checks_ownership(charlie_client, link):
    assert charlie_client.get(reverse("offers:link_qr_png", args=[link.code])).status_code == 404
    assert charlie_client.get(reverse("offers:link_qr_svg", args=[link.code])).status_code == 404
    assert charlie_client.post(reverse("offers:archive_link", args=[link.code])).status_code == 404
    link.refresh_from_db()
    assert link.archived_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_generation_gives_each_member_one_link(workspace, offer, project):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    members = [make_member(workspace, f"M{i}", project=project) for i in range(5)]

    def run(_):
        try:
            return len(services.generate_links(offer=offer, members=members).created)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(run, range(4)))
    assert sum(created) == 5
    assert Link.objects.filter(offer=offer).count() == 5
