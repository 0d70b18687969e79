"""Click ids name the month of their click, so a postback's click look-up reads one month's partition;
ids that name no month, or the wrong one, are still found in every month."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tracking.postback_world import make_click, make_world
from tests.tracking.test_redirect import hit, make_link
from tracking.click_lookup import find_click
from tracking.clicks.payload import MINTED_ID, mint_transaction_id, minted_month
from tracking.models import Click, Conversion

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_an_id_names_the_month_it_was_minted_in():
    tid = mint_transaction_id(NOW)
    assert MINTED_ID.fullmatch(tid)
    assert minted_month(tid, NOW) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert tid[4:] != mint_transaction_id(NOW)[4:]  # the rest is random
    # Aware times in any zone name their UTC month.
    late_on_the_31st = datetime(2026, 12, 31, 23, 30, tzinfo=UTC).astimezone(timezone.get_fixed_timezone(120))
    assert minted_month(mint_transaction_id(late_on_the_31st), NOW)[0] == datetime(2026, 12, 1, tzinfo=UTC)
    november = mint_transaction_id(NOW - timedelta(days=30))
    assert minted_month(november, NOW) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def test_only_a_believable_month_is_read_from_an_id():
    assert minted_month("ffff" + "0" * 28, NOW) is None  # the year 7461
    assert minted_month(mint_transaction_id(NOW - timedelta(days=365 * 11)), NOW) is None
    assert minted_month(mint_transaction_id(NOW + timedelta(days=40)), NOW) is not None  # clocks drift
    assert minted_month(mint_transaction_id(NOW + timedelta(days=70)), NOW) is None
    assert minted_month("0" * 30, NOW) is None and minted_month("tid-from-elsewhere", NOW) is None


def test_the_redirect_mints_an_id_naming_the_month_its_click_is_stored_in(client, workspace, settings):
    settings.CLICK_BUFFER = "direct"
    link = make_link(workspace)
    assert hit(client, link).status_code == 302
    click = Click.objects.get()
    start, end = minted_month(click.transaction_id, timezone.now())
    assert start <= click.created_at < end


def postback(client, world, tid):
    secret = world["connection"].postback_secret
    return client.get(f"/postback/impact/{secret}", {"subid1": tid, "action_id": f"A-{tid[:12]}", "amount": "50"})


def test_a_postback_finds_its_click_in_the_month_its_id_names(client, workspace):
    world = make_world(workspace)
    click = make_click(world["link"], mint_transaction_id(timezone.now()))
    with CaptureQueriesContext(connection) as queries:
        assert postback(client, world, click.transaction_id).content == b"accepted"
    assert Conversion.objects.get().click == click
    lookups = [q["sql"] for q in queries if "k.transaction_id" in q["sql"]]
    assert len(lookups) == 1 and "k.created_at >=" in lookups[0]


def test_a_click_outside_the_month_its_id_names_is_still_found(client, workspace):
    # An id minted before ids named months is random: its first digits may name this month
    # by chance while its click was made months ago.
    world = make_world(workspace)
    click = make_click(world["link"], mint_transaction_id(timezone.now()))
    Click.objects.filter(pk=click.pk).update(created_at=timezone.now() - timedelta(days=70))
    assert postback(client, world, click.transaction_id).content == b"accepted"
    assert Conversion.objects.get().click_id == click.pk
    assert find_click(workspace=workspace, transaction_id=click.transaction_id).pk == click.pk


@pytest.mark.parametrize("tid", ["ffff" + "ab" * 14, "c" * 30])
def test_an_id_naming_no_month_is_looked_up_in_every_month_at_once(client, workspace, tid):
    world = make_world(workspace)
    click = make_click(world["link"], tid)
    Click.objects.filter(pk=click.pk).update(created_at=timezone.now() - timedelta(days=70))
    with CaptureQueriesContext(connection) as queries:
        assert postback(client, world, tid).content == b"accepted"
    assert Conversion.objects.get().click_id == click.pk
    lookups = [q["sql"] for q in queries if "k.transaction_id" in q["sql"]]
    assert len(lookups) == 1 and "k.created_at >=" not in lookups[0]
