"""The sync tasks in a real Celery worker on Redis, against the local Impact stand-in."""

from datetime import UTC, datetime, timedelta

import pytest

from networks import services
from networks.models import ProcessedActionUpdate, SyncRun
from tests.conftest import wait_for
from tests.networks.conftest import make_impact_connection
from tests.tools.impact_standin import SID, StandinServer
from tracking.models import Conversion

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standin_for_worker(monkeypatch, settings):
    """Started before the worker so its environment points it at the stand-in."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with StandinServer(actions=600, start=end - timedelta(days=20), end=end) as server:
        monkeypatch.setenv("IMPACT_API_BASE_URL", server.url)
        settings.IMPACT_API_BASE_URL = server.url
        yield server


def test_actions_and_updates_sync_in_a_real_worker(standin_for_worker, celery_worker_process, workspace):
    conn = make_impact_connection(workspace, sid=SID)
    actions = services.request_sync(connection=conn, kind="actions", trigger="manual")
    updates = services.request_sync(connection=conn, kind="updates", trigger="manual")

    def finished(run):
        run.refresh_from_db()
        return not run.is_active

    assert wait_for(lambda: finished(actions) and finished(updates), timeout=120)
    assert actions.status == SyncRun.Status.SUCCEEDED, actions.error
    assert updates.status == SyncRun.Status.SUCCEEDED, updates.error
    assert actions.created_count == 600
    assert Conversion.objects.filter(connection=conn).count() == 600
    reversals = ProcessedActionUpdate.objects.filter(connection=conn).count()
    assert reversals > 0
    assert Conversion.objects.filter(connection=conn, status="reversed").count() >= reversals
    assert any("/Actions?" in r for r in standin_for_worker.standin.requests)
