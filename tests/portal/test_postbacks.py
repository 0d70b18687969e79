"""The member's own postbacks in the portal: add (a private or plain-http URL refused next to the field), edit,
turn off and on, remove, a test call and a replay in the delivery log, and nobody else's rows."""

from urllib.parse import parse_qs, urlsplit

import pytest
import respx
from django.urls import reverse
from django.utils.html import escape

from outbound import services as outbound
from outbound import transport
from outbound.models import Delivery, MemberPostback
from tests.portal.helpers import member_rows, sign_in_as

GOOD = "https://member.example.net/pb?tid={transaction_id}&s1={sub1}&p={payout}&st={status}"
PAGE = "/portal/postbacks/"


@pytest.fixture(autouse=True)
def names(monkeypatch):
    """member.example.net is a public host; localhost and private literals go to the real checks."""
    real = transport.lookup
    fake = {"member.example.net": ["93.184.216.35"], "inside.example.net": ["10.1.2.3"]}
    monkeypatch.setattr(transport, "lookup", lambda host, port: fake[host] if host in fake else real(host, port))


@pytest.fixture
def queued(monkeypatch):
    """Delivery tasks the pages enqueue, kept instead of sent to a broker: [(kind, target_id), ...]."""
    from outbound import tasks

    calls = []
    monkeypatch.setattr(tasks.deliver, "delay", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def ava_client(client, ava):
    return sign_in_as(client, ava)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://localhost/pb?tid={transaction_id}", "private"),
        ("https://192.168.1.20/pb", "private"),
        ("https://inside.example.net/pb", "private"),
        ("http://member.example.net/pb", "https"),
        ("https://member.example.net/pb?x={amount}", "Unknown macros: {amount}"),
    ],
)
def test_a_refused_url_is_explained_next_to_the_field(ava_client, ava, url, problem):
    response = ava_client.post(PAGE, {"url": url})
    assert response.status_code == 400
    assert problem in response.context["form"].errors["url"][0]
    error = response.content.decode().split('id="id_url_error"')[1].split("</div>")[0]
    assert problem.split(":")[0] in error
    assert not MemberPostback.objects.filter(member=ava.member).exists()


def test_a_member_adds_edits_turns_off_and_on_and_removes_a_postback(ava_client, ava, queued):
    response = ava_client.get(PAGE)
    assert "No postback URL yet" in response.content.decode()
    assert ava_client.post(PAGE, {"url": GOOD}).status_code == 302
    postback = MemberPostback.objects.get(member=ava.member)
    assert postback.url == GOOD and postback.workspace_id == ava.workspace.pk
    page = ava_client.get(PAGE).content.decode()
    assert escape(GOOD) in page and 'data-confirm="Remove this postback URL' in page

    edit = reverse("portal:edit_postback", kwargs={"code": postback.code})
    refused = ava_client.post(edit, {"url": "https://127.0.0.1/pb"})
    assert refused.status_code == 400 and "private" in refused.context["form"].errors["url"][0]
    assert ava_client.post(edit, {"url": GOOD + "&c={conversion_id}"}).status_code == 302
    postback.refresh_from_db()
    assert postback.url.endswith("&c={conversion_id}")

    ava_client.post(reverse("portal:disable_postback", kwargs={"code": postback.code}))
    postback.refresh_from_db()
    assert postback.status == "disabled" and "ava@creators.test" in postback.disabled_reason
    test = ava_client.post(reverse("portal:test_postback", kwargs={"code": postback.code}), follow=True)
    assert "turned off" in test.content.decode() and not Delivery.objects.exists()
    ava_client.post(reverse("portal:enable_postback", kwargs={"code": postback.code}))
    postback.refresh_from_db()
    assert postback.status == "active"

    assert ava_client.post(reverse("portal:remove_postback", kwargs={"code": postback.code})).status_code == 302
    assert not MemberPostback.objects.exists()


@respx.mock
def test_a_test_call_and_its_replay_are_in_the_delivery_log(
    ava_client, ava, queued, django_capture_on_commit_callbacks
):
    receiver = respx.get(url__startswith="https://member.example.net/pb").respond(200, text="ok")
    ava_client.post(PAGE, {"url": GOOD})
    postback = MemberPostback.objects.get(member=ava.member)

    with django_capture_on_commit_callbacks(execute=True):
        ava_client.post(reverse("portal:test_postback", kwargs={"code": postback.code}))
    assert queued == [("postback", postback.pk)]
    assert outbound.deliver_target(kind="postback", target_id=postback.pk) == 1
    sent = {k: v[0] for k, v in parse_qs(urlsplit(str(receiver.calls[-1].request.url)).query).items()}
    assert sent == {"tid": "test0000000000000000000000000000", "s1": "test", "p": "1.23", "st": "pending"}

    test = Delivery.objects.get(postback=postback)
    assert (test.status, test.last_status_code, test.attempts) == ("delivered", 200, 1)
    row = _log_row(ava_client, test)
    assert "postback.test" in row and "HTTP 200" in row and test.url[:40] in row and "Replay" in row

    with django_capture_on_commit_callbacks(execute=True):
        ava_client.post(reverse("portal:replay_delivery", kwargs={"code": test.code}))
    replay = Delivery.objects.get(resend_of=test)
    assert replay.url == test.url and replay.status == "pending"
    assert outbound.deliver_target(kind="postback", target_id=postback.pk) == 1
    assert len(receiver.calls) == 2 and str(receiver.calls[-1].request.url) == test.url
    replay.refresh_from_db()
    assert (replay.status, replay.last_status_code) == ("delivered", 200)
    assert "replay" in _log_row(ava_client, replay)

    csv = b"".join(ava_client.get(reverse("portal:postback_deliveries_csv")).streaming_content).decode()
    assert csv.count("postback.test") == 2


def _log_row(client, delivery) -> str:
    page = client.get(PAGE).content.decode()
    return page.split(f'data-delivery="{delivery.code}"')[1].split("</tr>")[0]


def test_a_member_sees_and_reaches_only_their_own_postbacks(client, ava, ben, cleo):
    mine = member_rows(ava.member)
    bens = member_rows(ben.member, tag="ben")
    cleos = member_rows(cleo.member, tag="cleo")
    sign_in_as(client, ava)
    page = client.get(PAGE).content.decode()
    assert str(mine["delivery"].code) in page and str(mine["postback"].code) in page
    csv = b"".join(client.get(reverse("portal:postback_deliveries_csv")).streaming_content).decode()
    assert mine["delivery"].msg_id in csv
    for other in (bens, cleos):
        assert str(other["postback"].code) not in page and str(other["delivery"].code) not in page
        assert other["delivery"].msg_id not in csv
        code = other["postback"].code
        assert client.get(reverse("portal:edit_postback", kwargs={"code": code})).status_code == 404
        for name in ("edit_postback", "disable_postback", "remove_postback", "test_postback"):
            assert client.post(reverse(f"portal:{name}", kwargs={"code": code}), {"url": GOOD}).status_code == 404
        replay = reverse("portal:replay_delivery", kwargs={"code": other["delivery"].code})
        assert client.post(replay).status_code == 404
        other["postback"].refresh_from_db()
        assert other["postback"].status == "active" and other["postback"].url != GOOD
    assert Delivery.objects.count() == 3


def test_a_sixth_url_is_refused_above_the_form(ava_client, ava):
    for n in range(5):
        assert ava_client.post(PAGE, {"url": f"{GOOD}&n={n}"}).status_code == 302
    response = ava_client.post(PAGE, {"url": GOOD})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["A member can have 5 postback URLs; remove one first."]
    assert "remove one first" in response.content.decode().split('id="postback-form"')[1]
    assert MemberPostback.objects.filter(member=ava.member).count() == 5
