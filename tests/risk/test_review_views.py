"""The /review/ pages: the queue, a case's evidence, bulk decisions behind a confirmation, rule settings."""

from datetime import timedelta
from decimal import Decimal

import pytest

from payments.models import MemberHold
from risk.models import Case, RiskSettings
from risk.services import evaluate_new_conversion_events_all_workspaces as evaluate
from tests.conftest import set_role
from tests.payments.helpers import drain, payable
from tests.risk.helpers import convert, world


@pytest.fixture
def held(workspace):
    evaluate()
    w = world(workspace)
    conversions = [convert(w, after=timedelta(seconds=2)) for _ in range(2)]
    drain()
    evaluate()
    return w, [Case.objects.get(conversion=c) for c in conversions]


def test_the_queue_lists_held_conversions_with_their_reasons(alice_client, held):
    page = alice_client.get("/review/").content.decode()
    assert page.count('name="cases"') == 2
    assert "Converted too soon" in page and "2 s after its click" in page


def test_an_empty_queue_says_what_would_appear(alice_client, workspace):
    assert 'id="review-empty"' in alice_client.get("/review/").content.decode()


def test_a_case_shows_its_evidence(alice_client, held):
    _, cases = held
    page = alice_client.get(f"/review/cases/{cases[0].code}/").content.decode()
    assert 'id="timing">2 s' in page and "Visitor hash" in page and "on hold since" in page


def test_a_bulk_release_asks_for_confirmation_then_releases(alice_client, workspace, held):
    w, cases = held
    data = {"cases": [str(c.code) for c in cases], "decision": "release", "reason": "Regular buyers"}
    confirm = alice_client.post("/review/decide/", data)
    assert confirm.status_code == 200 and "Release 2 held conversions?" in confirm.content.decode()
    assert Case.objects.filter(status="held").count() == 2  # nothing decided before the confirmation
    done = alice_client.post("/review/decide/", {**data, "confirmed": "1"}, follow=True)
    assert "Released: 2 conversions." in done.content.decode()
    assert set(Case.objects.values_list("status", "decided_by").distinct()) == {("released", "alice@brand.test")}
    assert payable(workspace, w["member"]) == Decimal("20.00")


def test_a_decision_without_a_reason_or_a_tick_is_refused_next_to_the_form(alice_client, held):
    _, cases = held
    response = alice_client.post("/review/decide/", {"cases": [str(cases[0].code)], "decision": "reject"})
    assert response.status_code == 400 and "Give a reason" in response.content.decode()
    response = alice_client.post("/review/decide/", {"decision": "reject", "reason": "x"})
    assert response.status_code == 400 and "Tick at least one" in response.content.decode()
    assert not Case.objects.exclude(status="held").exists()


def test_it_requires_write_access(bob_client, workspace, bob, held):
    _, cases = held
    set_role(bob, workspace, "viewer")
    data = {"cases": [str(cases[0].code)], "decision": "release", "reason": "x", "confirmed": "1"}
    assert bob_client.post("/review/decide/", data).status_code == 403
    assert (
        bob_client.post(f"/review/members/{cases[0].conversion.member.code}/hold/", {"reason": "x"}).status_code == 403
    )
    assert bob_client.post("/review/rules/", {"velocity_clicks": "5"}).status_code == 403
    assert not Case.objects.exclude(status="held").exists()


def test_it_checks_ownership(charlie_client, held):
    _, cases = held
    assert charlie_client.get(f"/review/cases/{cases[0].code}/").status_code == 404
    data = {"cases": [str(cases[0].code)], "decision": "release", "reason": "x", "confirmed": "1"}
    assert charlie_client.post("/review/decide/", data).status_code == 400  # not one of charlie's cases
    assert "Converted too soon" not in charlie_client.get("/review/").content.decode()
    assert not Case.objects.exclude(status="held").exists()


def test_a_member_is_put_on_hold_and_the_hold_lifted(alice_client, held):
    w, _ = held
    member = w["member"]
    alice_client.post(f"/review/members/{member.code}/hold/", {"reason": "Chargebacks"})
    assert MemberHold.objects.get(member=member).held_by == "alice@brand.test"
    assert "Chargebacks" in alice_client.get("/review/").content.decode()
    alice_client.post(f"/review/members/{member.code}/lift/")
    assert not MemberHold.objects.filter(member=member).exists()


def test_the_csv_lists_cases_with_reasons(alice_client, held):
    body = b"".join(alice_client.get("/review/cases.csv").streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("case,status,opened_at")
    assert body.count("Converted 2 s after its click") == 2


def test_rule_settings_are_saved_with_errors_next_to_fields(alice_client, workspace):
    form = {"velocity_on": "on", "velocity_clicks": "5", "bot_share_percent": "150", "too_soon_seconds": "10"}
    form |= {"too_late_days": "30", "drift_percent": "20"}
    response = alice_client.post("/review/rules/", form)
    assert response.status_code == 400 and 'id="bot_share_percent-error"' in response.content.decode()
    alice_client.post("/review/rules/", {**form, "bot_share_percent": "40"})
    settings = RiskSettings.objects.get(workspace=workspace)
    assert (settings.velocity_clicks, settings.bot_share_percent, settings.too_soon_on) == (5, 40, False)
