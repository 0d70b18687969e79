"""Member postbacks: a member's own URL called with macros on their new and changed conversions."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from offers.models import Link, Member
from outbound import services
from outbound.models import Attempt, Delivery, MemberPostback
from tests.conftest import set_role
from tests.outbound.helpers import make_postback, start_cursors
from tests.tracking.postback_world import make_click, make_world
from tracking.models import PostbackLog
from tracking.reported import ConversionData
from tracking.services import change_conversion_status, record_conversion

URL = (
    "https://member.example.net/pb?tid={transaction_id}&s1={sub1}&p={payout}&st={status}&c={conversion_id}&o={offer_id}"
)


@pytest.fixture
def world(workspace):
    start_cursors()
    world = make_world(workspace)
    Link.objects.filter(pk=world["link"].pk).update(sub1="story")
    click = world["click"]
    click.sub1 = "story 1"
    click.save(update_fields=["sub1"])
    return world


def convert(world, click=None):
    click = click or world["click"]
    return record_conversion(
        connection=world["connection"],
        data=ConversionData(external_id=f"X{click.pk}", transaction_id=click.transaction_id, sale_amount=Decimal("80")),
        source="postback",
        postback=PostbackLog(network="impact", method="GET"),
    ).conversion


def sent(route):
    return [{k: v[0] for k, v in parse_qs(urlsplit(str(c.request.url)).query).items()} for c in route.calls]


@respx.mock
def test_new_and_changed_conversions_call_the_members_url_with_its_macros(
    world, queued, django_capture_on_commit_callbacks
):
    postback = make_postback(world["member"], URL)
    route = respx.get(url__startswith="https://member.example.net/pb").respond(200, text="ok")
    conversion = convert(world)
    change_conversion_status(conversion=conversion, status="approved", actor="alice")
    with django_capture_on_commit_callbacks(execute=True):
        services.pump_outbox_all_workspaces()
    assert queued == [("postback", postback.pk)]
    assert services.deliver_target(kind="postback", target_id=postback.pk) == 2
    first, second = sent(route)
    assert first == {
        "tid": world["click"].transaction_id,
        "s1": "story 1",
        "p": "8.00",
        "st": "pending",
        "c": str(conversion.code),
        "o": str(world["offer"].code),
    }
    assert second["st"] == "approved"
    deliveries = list(Delivery.objects.filter(postback=postback).order_by("id"))
    assert [d.topic for d in deliveries] == ["conversion.created", "conversion.updated"]
    assert all(d.status == "delivered" for d in deliveries)
    assert Attempt.objects.filter(delivery__postback=postback, status_code=200).count() == 2


def test_another_members_conversion_does_not_call_it(world, workspace, queued):
    make_postback(world["member"], URL)
    ben = Member.objects.create(workspace=workspace, name="Ben")
    link = Link.objects.create(workspace=workspace, offer=world["offer"], member=ben)
    convert(world, click=make_click(link))
    services.pump_outbox_all_workspaces()
    assert not Delivery.objects.exists()


@respx.mock
def test_a_failing_postback_is_retried_with_backoff(world, queued, django_capture_on_commit_callbacks):
    postback = make_postback(world["member"], URL)
    respx.get(url__startswith="https://member.example.net/").mock(side_effect=httpx.ReadTimeout("slow"))
    convert(world)
    services.pump_outbox_all_workspaces()
    with django_capture_on_commit_callbacks(execute=True):
        services.deliver_target(kind="postback", target_id=postback.pk)
    delivery = Delivery.objects.get(postback=postback)
    assert delivery.status == "pending" and delivery.last_error == "Timed out"
    assert delivery.next_attempt_at > timezone.now()
    assert queued[-1] == ("postback", postback.pk)


def test_a_postback_to_a_private_or_plain_http_address_is_refused(world):
    member = world["member"]
    for url, problem in [
        ("http://member.example.net/pb", "https"),
        ("https://localhost/pb?t={transaction_id}", "private"),
        ("https://rebind.example.com/pb", "private"),
        ("https://member.example.net/pb?x={amount}", "Unknown macros"),
    ]:
        with pytest.raises(Exception, match=problem):
            services.add_member_postback(member=member, url=url)
    assert not MemberPostback.objects.exists()


def test_the_services_never_reach_another_members_rows(world, workspace, queued):
    ava = world["member"]
    ben = Member.objects.create(workspace=workspace, name="Ben")
    postback = services.add_member_postback(member=ava, url=URL)
    delivery = Delivery.objects.create(
        workspace=workspace,
        postback=postback,
        topic="conversion.created",
        msg_id="m",
        url="https://member.example.net/",
    )
    for call in (
        lambda: services.update_member_postback(member=ben, code=postback.code, url=URL),
        lambda: services.remove_member_postback(member=ben, code=postback.code),
        lambda: services.replay_member_delivery(member=ben, code=delivery.code),
        lambda: services.get_member_postback(member=ben, code="not-a-uuid"),
    ):
        with pytest.raises(Http404):
            call()
    assert list(services.list_member_deliveries(member=ben)) == []
    assert list(services.list_member_deliveries(member=ava)) == [delivery]
    replay = services.replay_member_delivery(member=ava, code=delivery.code)
    assert replay.resend_of == delivery and replay.url == delivery.url


def test_staff_manage_a_members_postbacks_on_its_page(alice_client, world, queued):
    member = world["member"]
    page = reverse("outbound:member_postbacks", kwargs={"code": member.code})
    response = alice_client.post(page, {"url": "https://localhost/pb"})
    assert response.status_code == 200 and "private" in response.context["form"].errors["url"][0]
    assert alice_client.post(page, {"url": URL}).status_code == 302
    postback = MemberPostback.objects.get(member=member)
    alice_client.post(reverse("outbound:test_member_postback", kwargs={"code": postback.code}))
    test = Delivery.objects.get(postback=postback)
    assert test.topic == "postback.test" and "tid=test" in test.url
    alice_client.post(reverse("outbound:disable_member_postback", kwargs={"code": postback.code}))
    postback.refresh_from_db()
    assert postback.status == "disabled"
    alice_client.post(
        reverse("outbound:edit_member_postback", kwargs={"code": postback.code}),
        {"url": "https://member.example.net/v2?t={transaction_id}"},
    )
    postback.refresh_from_db()
    assert postback.url.endswith("/v2?t={transaction_id}")
    listing = alice_client.get(page)
    assert listing.status_code == 200 and test in listing.context["page"].object_list
    detail = alice_client.get(reverse("tracking:member_detail", kwargs={"code": member.code}))
    assert "1 postback URL" in detail.content.decode()
    alice_client.post(reverse("outbound:remove_member_postback", kwargs={"code": postback.code}))
    assert not MemberPostback.objects.exists()


def test_a_viewer_reads_but_cannot_change(client, bob, world, workspace):
    postback = make_postback(world["member"], URL)
    set_role(bob, workspace, "viewer")
    client.force_login(bob)
    page = reverse("outbound:member_postbacks", kwargs={"code": world["member"].code})
    assert client.get(page).status_code == 200
    assert client.post(page, {"url": URL}).status_code == 403
    assert client.post(reverse("outbound:remove_member_postback", kwargs={"code": postback.code})).status_code == 403


def test_it_checks_ownership(charlie_client, world):
    page = reverse("outbound:member_postbacks", kwargs={"code": world["member"].code})
    assert charlie_client.get(page).status_code == 404
