"""seeddemo's Impact history never holds back a real sync once credentials are entered."""

from datetime import timedelta

import pytest
import respx
from django.core.management import call_command
from django.utils import timezone

from networks import services
from networks.models import ClickExportJob, NetworkClickCount, SyncRun, SyncState
from offers.models import NetworkConnection
from tests.networks.conftest import SID, impact_url
from tests.networks.helpers import empty
from tests.tools.impact_standin import TOKEN

pytestmark = pytest.mark.django_db


def demo_connection() -> NetworkConnection:
    call_command("seeddemo")
    return NetworkConnection.objects.get(workspace__slug="demo-brand", kind="impact")


def test_seed_demo_plants_no_sync_cursor_and_no_export_job():
    conn = demo_connection()
    assert SyncRun.objects.filter(connection=conn).exists()  # the history the pages show
    assert NetworkClickCount.objects.filter(connection=conn).exists()
    assert not SyncState.objects.filter(connection=conn, cursor_at__isnull=False).exists()
    assert not SyncState.objects.filter(connection=conn, locking_cursor_at__isnull=False).exists()
    assert not ClickExportJob.objects.filter(connection=conn).exists()


@respx.mock
def test_real_credentials_on_the_demo_connection_start_its_history_afresh():
    conn = demo_connection()
    respx.get(impact_url("CompanyInformation")).respond(200, json={"CompanyName": "Partner", "Timezone": "UTC"})
    actions = respx.get(impact_url("Actions")).respond(200, json=empty("Actions"))
    data = {
        "label": conn.label,
        "currency": conn.currency,
        "settlement_day": conn.settlement_day,
        "account_sid": SID,
        "auth_token": TOKEN,
    }
    services.save_connection(workspace=conn.workspace, data=data, connection=conn)
    assert not SyncRun.objects.filter(connection=conn).exists()
    assert not NetworkClickCount.objects.filter(connection=conn).exists()
    run = services.start_sync_run(connection=conn, kind="actions", trigger="manual")
    services.execute_sync_run(run=run)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert timezone.now() - run.window_start >= timedelta(days=90) - timedelta(minutes=1)
    assert actions.call_count == 2  # two 45-day windows, no LockingDate pass on a first run
