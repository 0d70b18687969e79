"""/api/v1/events/: what webhooks send, listed by cursor for a client that was down."""

from outbound import services
from outbound.models import Message
from tests.outbound.helpers import start_cursors
from workspaces.outbox import publish


def make_events(workspace, n):
    start_cursors()
    for i in range(n):
        publish(workspace=workspace, topic="payment.sent", subject=f"payment:{i}", data={"amount": f"{i}.00"})
    publish(workspace=workspace, topic="sync.failed", subject="sync:1", data={"error": "401"})
    publish(workspace=workspace, topic="member.noted", data={})  # not an outside event
    services.pump_outbox_all_workspaces()


def test_it_pages_events_by_cursor_newest_first(api, workspace):
    make_events(workspace, 4)
    first = api.get("/api/v1/events/", {"limit": 3}).json()
    assert [e["type"] for e in first["results"]] == ["sync.failed", "payment.sent", "payment.sent"]
    second = api.get(first["next"]).json()
    assert [e["data"]["amount"] for e in second["results"]] == ["1.00", "0.00"]
    assert second["next"] is None
    event = first["results"][0]
    assert event["id"] == Message.objects.get(topic="sync.failed").msg_id
    assert event["data"] == {"subject": "sync:1", "error": "401"} and event["timestamp"]


def test_a_client_catches_up_oldest_first_and_by_type(api, workspace):
    make_events(workspace, 3)
    r = api.get("/api/v1/events/", {"order": "oldest", "type": "payment.sent"}).json()
    assert [e["data"]["subject"] for e in r["results"]] == ["payment:0", "payment:1", "payment:2"]
    assert api.get("/api/v1/events/", {"type": "nope"}).status_code == 400
    assert api.get("/api/v1/events/", {"cursor": "garbage"}).status_code == 422


def test_another_workspace_sees_none_of_them(other_api, workspace):
    make_events(workspace, 2)
    assert other_api.get("/api/v1/events/").json()["results"] == []


def test_it_needs_a_key(client, workspace):
    assert client.get("/api/v1/events/").status_code == 401
