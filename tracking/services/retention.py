"""How long the postback log is kept: POSTBACK_LOG_RETENTION_DAYS (180 by default; 0 keeps it forever).

A hit's log row is its audit trail; its effect lives on in the conversion, its history
and the ledger, which are never pruned. ``prune_postback_log_all_workspaces`` deletes
rows older than the retention a batch at a time, workspace by workspace, so each batch
is found through the log page's index (workspace, received_at) and no statement holds
locks for long. A replay of a pruned row keeps its own row (``replay_of`` is cleared).
Clicks and rollups are not pruned (docs/scaling.md: clicks need partitioning first).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracking.models import PostbackLog
from workspaces.models import Workspace

BATCH = 5000


def prune_postback_log_all_workspaces(*, days: int | None = None, batch: int = BATCH) -> int:
    """Delete postback log rows older than ``days`` (default POSTBACK_LOG_RETENTION_DAYS); returns how many."""
    days = settings.POSTBACK_LOG_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    before = timezone.now() - timedelta(days=days)
    deleted = 0
    # Hits whose secret matched no connection have no workspace; they are pruned like the rest.
    for workspace_id in [*Workspace.objects.values_list("id", flat=True), None]:
        old = PostbackLog.objects.filter(workspace_id=workspace_id, received_at__lt=before)
        while ids := list(old.values_list("id", flat=True)[:batch]):
            with transaction.atomic():
                deleted += PostbackLog.objects.filter(id__in=ids).delete()[0]
    return deleted
