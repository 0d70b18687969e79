from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from offers.models import Link, Member
from tests.conftest import set_role
from tests.offers.conftest import make_member
from tracking.models import Click, Conversion


def test_it_lists_searches_and_filters_members(alice_client, workspace, member, project):
    make_member(workspace, "Ben Summit", handle="@ben", is_test=True)
    make_member(workspace, "Old Cara", status="archived")
    r = alice_client.get(reverse("reports:member_list"))
    names = [m.name for m in r.context["page"].object_list]
    assert names == ["Ava Trails", "Ben Summit"]
    assert b'badge">test</span>' in r.content
    r = alice_client.get(reverse("reports:member_list"), {"q": "@ben"})
    assert [m.name for m in r.context["page"].object_list] == ["Ben Summit"]
    r = alice_client.get(reverse("reports:member_list"), {"project": str(project.code)})
    assert [m.name for m in r.context["page"].object_list] == ["Ava Trails"]
    r = alice_client.get(reverse("reports:member_list"), {"status": "archived"})
    assert [m.name for m in r.context["page"].object_list] == ["Old Cara"]
    r = alice_client.get(reverse("reports:member_list"), {"test": "yes"})
    assert [m.name for m in r.context["page"].object_list] == ["Ben Summit"]


def test_it_shows_empty_states(alice_client, workspace):
    r = alice_client.get(reverse("reports:member_list"))
    assert b"No members yet" in r.content
    make_member(workspace, "Ava", status="archived")
    r = alice_client.get(reverse("reports:member_list"))
    assert b"No member matches" in r.content and b"archived included" in r.content
    r = alice_client.get(reverse("reports:member_list"), {"q": "zzz"})
    assert b"No member matches" in r.content


def test_it_adds_a_member_with_a_random_stable_affiliate_id(alice_client, workspace, project):
    data = {"name": "Dev Rivers", "email": "Dev@Creators.test", "handle": "@dev", "project": str(project.code)}
    r = alice_client.post(reverse("offers:add_member"), data)
    member = Member.objects.get(workspace=workspace)
    assert r.status_code == 302 and r.url == reverse("tracking:member_detail", args=[member.code])
    assert member.email == "dev@creators.test"
    assert member.project == project
    assert member.affiliate_id.startswith("m") and len(member.affiliate_id) == 11
    other = make_member(workspace, "Eve")
    assert other.affiliate_id != member.affiliate_id
    before = member.affiliate_id
    alice_client.post(reverse("offers:edit_member", args=[member.code]), {"name": "Dev R.", "is_test": "on"})
    member.refresh_from_db()
    assert member.affiliate_id == before
    assert member.name == "Dev R." and member.is_test and member.project is None


def test_it_rejects_a_duplicate_email_and_a_bad_one(alice_client, member):
    r = alice_client.post(reverse("offers:add_member"), {"name": "Twin", "email": "AVA@creators.test"})
    assert r.status_code == 200
    assert b"already uses ava@creators.test" in r.content
    r = alice_client.post(reverse("offers:add_member"), {"name": "Bad", "paypal_email": "not-an-email"})
    assert r.status_code == 200
    assert r.context["form"].errors["paypal_email"]
    assert Member.objects.count() == 1


def test_it_refuses_another_workspaces_project(alice_client, other_workspace):
    from offers.models import Project

    foreign = Project.objects.create(workspace=other_workspace, name="Theirs")
    r = alice_client.post(reverse("offers:add_member"), {"name": "X", "project": str(foreign.code)})
    assert r.status_code == 200
    assert r.context["form"].errors["project"]
    assert not Member.objects.exists()


def test_it_archives_and_restores_a_member(alice_client, member):
    alice_client.post(reverse("offers:archive_member", args=[member.code]))
    member.refresh_from_db()
    assert member.status == "archived"
    alice_client.post(reverse("offers:restore_member", args=[member.code]))
    member.refresh_from_db()
    assert member.status == "active"


def test_member_detail_shows_links_clicks_and_no_conversions(alice_client, workspace, member, link):
    now = timezone.now()
    for i, bot in enumerate([False, False, True]):
        Click.objects.create(
            workspace=workspace,
            transaction_id=f"t{i}",
            link=link,
            offer=link.offer,
            member=member,
            is_bot=bot,
            is_unique=i == 0,
            created_at=now - timedelta(days=i),
        )
    Click.objects.create(
        workspace=workspace,
        transaction_id="old",
        link=link,
        offer=link.offer,
        member=member,
        created_at=now - timedelta(days=45),
    )
    r = alice_client.get(reverse("tracking:member_detail", args=[member.code]))
    assert r.status_code == 200
    assert r.context["series"]["total"] == 2  # bots and clicks older than 30 days are not counted
    assert r.context["series"]["unique_total"] == 1
    assert link.url.encode() in r.content
    assert f'data-copy="#link-{link.code}"'.encode() in r.content
    assert b"No conversions yet" in r.content
    assert b"data-chart=" in r.content


def test_member_detail_summarises_conversions(alice_client, workspace, member, link):
    for i, (status, payout) in enumerate([("approved", "5.00"), ("approved", "2.50"), ("pending", "1.00")]):
        Conversion.objects.create(
            workspace=workspace,
            network="generic",
            dedupe_key=f"k{i}",
            transaction_id=f"t{i}",
            member=member,
            offer=link.offer,
            source="manual",
            currency="USD",
            status=status,
            sale_amount=Decimal("50"),
            member_payout=Decimal(payout),
        )
    r = alice_client.get(reverse("tracking:member_detail", args=[member.code]))
    rows = {row.status: row for row in r.context["earnings"]}
    assert rows["approved"].conversions == 2 and rows["approved"].payout == Decimal("7.50")
    assert rows["pending"].payout == Decimal("1.00")
    assert b"No conversions yet" not in r.content


def test_it_exports_members_as_csv(alice_client, workspace, member):
    make_member(workspace, "=HYPERLINK(evil)", email="x@y.test")
    r = alice_client.get(reverse("reports:export_members"))
    assert r["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0] == (
        "name,email,handle,paypal_email,project,is_test,affiliate_id,status,clicks,conversions,earnings,currency"
    )
    assert f"Ava Trails,ava@creators.test,,,Spring Launch,no,{member.affiliate_id},active,0,0,0.00,USD" in lines
    assert "'=HYPERLINK(evil)" in body  # spreadsheets must not run it as a formula


def test_it_requires_write_access(bob_client, bob, workspace, member):
    set_role(bob, workspace, "viewer")
    assert bob_client.get(reverse("tracking:member_detail", args=[member.code])).status_code == 200
    assert bob_client.get(reverse("offers:add_member")).status_code == 403
    assert bob_client.post(reverse("offers:edit_member", args=[member.code]), {"name": "X"}).status_code == 403
    assert bob_client.post(reverse("offers:archive_member", args=[member.code])).status_code == 403
    assert bob_client.post(reverse("offers:import_members")).status_code == 403
    member.refresh_from_db()
    assert member.name == "Ava Trails" and member.status == "active"
    assert not Link.objects.exists()


def test_it_checks_ownership(charlie_client, member):
    assert charlie_client.get(reverse("tracking:member_detail", args=[member.code])).status_code == 404
    r = charlie_client.post(reverse("offers:edit_member", args=[member.code]), {"name": "Mine"})
    assert r.status_code == 404
    assert b"Ava" not in charlie_client.get(reverse("reports:member_list")).content
