from django.urls import reverse

from offers.models import Link, Member
from tests.offers.conftest import make_member, make_offer


def test_it_lists_filters_and_searches_links(alice_client, workspace, offer, member, link):
    other_offer = make_offer(workspace, name="Autumn")
    ben = make_member(workspace, "Ben Summit")
    l2 = Link.objects.create(workspace=workspace, offer=other_offer, member=ben, vanity="ben-autumn")
    r = alice_client.get(reverse("reports:link_list"))
    assert {x.pk for x in r.context["page"].object_list} == {link.pk, l2.pk}
    r = alice_client.get(reverse("reports:link_list"), {"offer": str(offer.code)})
    assert [x.pk for x in r.context["page"].object_list] == [link.pk]
    r = alice_client.get(reverse("reports:link_list"), {"member": str(ben.code)})
    assert [x.pk for x in r.context["page"].object_list] == [l2.pk]
    r = alice_client.get(reverse("reports:link_list"), {"q": "autumn"})
    assert [x.pk for x in r.context["page"].object_list] == [l2.pk]
    r = alice_client.get(reverse("reports:link_list"), {"q": link.code})
    assert [x.pk for x in r.context["page"].object_list] == [link.pk]


def test_it_hides_archived_links_and_shows_empty_states(alice_client, link):
    r = alice_client.get(reverse("reports:link_list"), {"q": "nothing-like-this"})
    assert b"No current link matches these filters" in r.content
    link.archived_at = link.created_at
    link.save(update_fields=["archived_at"])
    r = alice_client.get(reverse("reports:link_list"))
    assert b"Archived links are not listed" in r.content
    link.delete()
    r = alice_client.get(reverse("reports:link_list"))
    assert b"No links yet" in r.content


def test_it_paginates(alice_client, workspace, offer, member):
    Link.objects.bulk_create(
        [Link(workspace=workspace, offer=offer, member=member, code=f"Code{i:04d}") for i in range(55)]
    )
    r = alice_client.get(reverse("reports:link_list"))
    assert len(r.context["page"].object_list) == 50
    assert b"page=2" in r.content
    r = alice_client.get(reverse("reports:link_list"), {"page": "2"})
    assert len(r.context["page"].object_list) == 5


def test_it_exports_links_as_csv(alice_client, link, settings):
    settings.SITE_URL = "https://go.brand.test"
    r = alice_client.get(reverse("reports:export_links"))
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(r.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("url,code,vanity,offer,member,affiliate_id")
    assert lines[1].startswith(
        f"https://go.brand.test/c/{link.code},{link.code},,Spring Sale,Ava Trails,{link.member.affiliate_id}"
    )


def test_it_checks_ownership(charlie_client, link):
    r = charlie_client.get(reverse("reports:link_list"))
    assert link.code.encode() not in r.content
    r = charlie_client.get(reverse("reports:link_list"), {"offer": str(link.offer.code)})
    assert link.code.encode() not in r.content
    body = b"".join(charlie_client.get(reverse("reports:export_links")).streaming_content)
    assert link.code.encode() not in body


def test_list_pages_run_a_fixed_number_of_queries(alice_client, workspace, offer, project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(path):
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(path).status_code == 200
        return len(ctx.captured_queries)

    make_member(workspace, "First", project=project)
    Link.objects.create(workspace=workspace, offer=offer, member=Member.objects.get())
    alice_client.get("/offers/")  # the session's first page also reads the person's time zone, once
    alice_client.get("/links/")  # and the workspace's primary tracking domain, remembered for 30 s
    small = {p: count(p) for p in ("/links/", "/members/", "/offers/", "/projects/")}
    for i in range(15):
        m = make_member(workspace, f"M{i}", project=project)
        Link.objects.create(workspace=workspace, offer=make_offer(workspace, name=f"O{i}"), member=m)
    large = {p: count(p) for p in small}
    assert large == small
