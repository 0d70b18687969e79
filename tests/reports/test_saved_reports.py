"""Saved reports: save with filters, shared or private, pinned to the navigation, emailed as CSV."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reports import saved as service
from reports.models import SavedReport
from reports.rollups import rebuild_rollups
from tests.conftest import set_role
from tests.reports.reportdata import build_report_world


@pytest.fixture
def world(workspace):
    w = build_report_world(workspace)
    rebuild_rollups(workspace=workspace)
    return w


def save(client, **data):
    fields = {"name": "Top creators", "report": "members", "query": "preset=7d&sort=-conversions", **data}
    return client.post(reverse("reports:save_report"), fields)


def test_it_saves_the_report_with_its_filters_and_opens_it_again(alice_client, alice, world):
    response = save(alice_client, pinned="on", back="/reports/members/?preset=7d")
    saved = SavedReport.objects.get()
    assert (saved.owner, saved.report, saved.query, saved.pinned, saved.shared) == (
        alice,
        "members",
        "preset=7d&sort=-conversions",
        True,
        False,
    )
    assert response.status_code == 302 and response["Location"] == "/reports/members/?preset=7d&sort=-conversions"
    page = alice_client.get("/reports/saved/").content.decode()
    assert "Top creators" in page
    # Pinned: every workspace page's navigation links to it.
    nav = alice_client.get("/offers/").content.decode()
    assert "&#9733; Top creators" in nav and 'href="/reports/members/?preset=7d&amp;sort=-conversions"' in nav


def test_private_reports_stay_private_and_shared_ones_are_seen_by_all(alice_client, bob_client, alice, bob, workspace):
    mine = SavedReport.objects.create(workspace=workspace, owner=alice, name="Mine", report="members", pinned=True)
    ours = SavedReport.objects.create(workspace=workspace, owner=alice, name="Ours", report="offers", shared=True)
    page = bob_client.get("/reports/saved/").content.decode()
    assert "Ours" in page and "Mine" not in page
    # Bob sees the shared one but cannot change it; Alice's private one does not exist for him.
    assert bob_client.post(reverse("reports:delete_saved_report", kwargs={"code": ours.code})).status_code == 403
    assert bob_client.post(reverse("reports:delete_saved_report", kwargs={"code": mine.code})).status_code == 404
    assert SavedReport.objects.count() == 2


def test_an_admin_may_remove_a_shared_report(bob_client, bob, alice, workspace):
    set_role(bob, workspace, "owner")
    ours = SavedReport.objects.create(workspace=workspace, owner=alice, name="Ours", report="offers", shared=True)
    assert bob_client.post(reverse("reports:delete_saved_report", kwargs={"code": ours.code})).status_code == 302
    assert not SavedReport.objects.exists()


def test_the_owner_pins_shares_and_schedules(alice_client, alice, workspace):
    saved = SavedReport.objects.create(workspace=workspace, owner=alice, name="Mine", report="members")
    url = reverse("reports:change_saved_report", kwargs={"code": saved.code})
    alice_client.post(url, {"pinned": "on", "shared": "on", "schedule": "weekly"})
    saved.refresh_from_db()
    assert (saved.pinned, saved.shared, saved.schedule) == (True, True, "weekly")


def test_it_refuses_bad_filters_and_unknown_reports(alice_client, workspace, alice):
    with pytest.raises(Exception, match="cannot be saved"):
        service.save_report(workspace=workspace, owner=alice, name="x", report="nope", query="")
    with pytest.raises(Exception, match="not valid"):
        service.save_report(workspace=workspace, owner=alice, name="x", report="members", query="preset=forever")


def test_the_back_address_never_leaves_the_site(alice_client, world):
    response = save(alice_client, name="", back="https://evil.example/")
    assert response["Location"] == "/reports/saved/"


def test_a_scheduled_report_is_emailed_as_csv_once_a_day(alice, workspace, world):
    SavedReport.objects.create(
        workspace=workspace, owner=alice, name="Daily members", report="members", query="preset=30d", schedule="daily"
    )
    now = timezone.now().astimezone(timezone.get_current_timezone()).replace(hour=12, minute=0)  # midday: one date
    assert service.send_due_reports_all_workspaces(now=now) == 1
    assert service.send_due_reports_all_workspaces(now=now + timedelta(minutes=5)) == 0  # already sent today
    message = mail.outbox[0]
    assert message.to == [alice.email] and "Daily members" in message.subject
    filename, content, mimetype = message.attachments[0]
    assert filename.startswith("performance-by-member-") and mimetype == "text/csv"
    # Django keeps a text attachment as text (it is sent as UTF-8, with the BOM Excel wants).
    lines = content.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("member,member_code,affiliate_id,clicks")
    assert any(line.startswith("Ava,") for line in lines)
    assert service.send_due_reports_all_workspaces(now=now + timedelta(days=1)) == 1


def test_a_weekly_report_goes_out_on_mondays(alice, workspace, world):
    SavedReport.objects.create(workspace=workspace, owner=alice, name="Weekly", report="offers", schedule="weekly")
    tz = timezone.get_current_timezone()
    sunday, monday = datetime(2026, 11, 29, 9, tzinfo=tz), datetime(2026, 11, 30, 9, tzinfo=tz)
    assert service.send_due_reports_all_workspaces(now=sunday) == 0
    assert service.send_due_reports_all_workspaces(now=monday) == 1
    assert mail.outbox[0].attachments[0][0].startswith("performance-by-offer-")


def test_another_workspace_sees_none_of_them(charlie_client, alice, workspace):
    SavedReport.objects.create(workspace=workspace, owner=alice, name="Ours", report="offers", shared=True, pinned=True)
    page = charlie_client.get("/reports/saved/").content.decode()
    assert "Ours" not in page
    assert "Ours" not in charlie_client.get("/offers/").content.decode()
