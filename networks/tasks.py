"""Network sync tasks: thin, they re-read rows by id and call one service.

Waiting (rate limits, Impact's queued export jobs, server-error backoff) is done by
re-scheduling the task with a countdown, never by sleeping in a worker.
"""

from celery import shared_task

from networks import services
from networks.models import ClickExportJob, SyncRun


@shared_task
def dispatch_network_syncs():
    """Beat, every 5 minutes: start the syncs that are due and resume any whose task was lost."""
    services.resume_lost_work_all_workspaces()
    return services.dispatch_due_syncs_all_workspaces()


# A long backfill may outlive the default limits; at the soft limit the run saves its place and
# continues in a new task (see services.execute_sync_run).
@shared_task(soft_time_limit=1500, time_limit=1800)
def run_sync(run_id: int):
    run = SyncRun.objects.filter(id=run_id).first()
    if run is None:
        return None
    outcome = services.execute_sync_run(run=run)
    if outcome.retry_in is not None:
        run_sync.apply_async(args=[run_id], countdown=outcome.retry_in)
    return outcome.retry_in


@shared_task
def poll_click_export(job_id: int):
    job = ClickExportJob.objects.filter(id=job_id).first()
    if job is None:
        return None
    outcome = services.poll_click_export(job=job)
    if outcome.retry_in is not None:
        poll_click_export.apply_async(args=[job_id], countdown=outcome.retry_in)
    return outcome.retry_in
