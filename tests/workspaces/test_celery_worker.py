"""A real Celery worker on Redis runs a task queued with on_commit once, and never after a rollback."""

import time

import pytest
from django.db import transaction

from tests.conftest import wait_for
from workspaces import services
from workspaces.models import Invitation

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_on_commit_tasks_run_once_after_commit_and_never_after_rollback(celery_worker_process, workspace, alice):
    with transaction.atomic():
        committed = services.invite_user(workspace=workspace, email="a@x.test", role="viewer", invited_by=alice)
        # Nothing is queued before commit.
        time.sleep(0.5)
        committed.refresh_from_db()
        assert committed.send_count == 0
    assert wait_for(lambda: Invitation.objects.get(pk=committed.pk).send_count == 1)

    rolled_back = Invitation.objects.create(workspace=workspace, email="b@x.test", role="viewer")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.queue_invitation_email(rolled_back)
        raise RuntimeError("abort")

    # A later task on the same FIFO queue runs; the rolled-back one never does.
    marker = services.invite_user(workspace=workspace, email="c@x.test", role="viewer", invited_by=alice)
    assert wait_for(lambda: Invitation.objects.get(pk=marker.pk).send_count == 1)
    time.sleep(1.0)
    assert Invitation.objects.get(pk=rolled_back.pk).send_count == 0
    assert Invitation.objects.get(pk=committed.pk).send_count == 1
