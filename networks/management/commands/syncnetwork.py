"""Run network syncs for one workspace now, in this process (operators, backfills).

Every connection with API credentials (Impact, ShareASale, Awin), or those named with
--network / --connection, runs each of its sync kinds (or those named with --kind). When
the network asks to wait (a 429's Retry-After, ShareASale's daily credit share, the
back-off after a server error) the command waits it out and finishes the run; with
--no-wait it hands the waiting run to a worker instead, says so and exits non-zero. Either
way no run is left waiting without someone to resume it.
"""

import time
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from networks import services
from networks.models import ClickExportJob, SyncKind, SyncRun, kind_label
from offers.models import NetworkConnection
from workspaces.errors import DomainError
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Sync a workspace's network connections through their APIs (Impact, ShareASale, Awin)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--since", help="Backfill from this day (YYYY-MM-DD; at most 3 years back).")
        parser.add_argument(
            "--kind",
            choices=SyncKind.values,
            action="append",
            help="Repeatable; default: every kind the network has (actions: Impact actions, ShareASale activity, "
            "Awin transactions; updates: action updates, voids and edits, validations; clicks: Impact's export).",
        )
        parser.add_argument(
            "--network", choices=sorted(services.adapters()), action="append", help="Repeatable; default: all."
        )
        parser.add_argument("--connection", help="Only this connection (its code).")
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="When the network asks to wait, hand the run to a worker and exit non-zero instead of waiting.",
        )

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        networks = options["network"] or sorted(services.adapters())
        connections = NetworkConnection.objects.filter(workspace=workspace, kind__in=networks)
        if options["connection"]:
            connections = connections.filter(code=options["connection"])
        connections = [c for c in connections.order_by("kind", "label") if c.credentials_encrypted]
        if not connections:
            raise CommandError("This workspace has no connection with API credentials to sync.")
        failed, handed = False, False
        for connection in connections:
            adapter = services.adapter_for(connection)
            since = None
            try:
                if options["since"]:
                    since = services.parse_since(options["since"], adapter)
            except DomainError as e:
                raise CommandError(e.message) from None
            for kind in [k for k in adapter.kinds if not options["kind"] or k in options["kind"]]:
                run = services.start_sync_run(
                    connection=connection,
                    kind=kind,
                    trigger=SyncRun.Trigger.COMMAND,
                    since=since if kind in adapter.windowed else None,
                )
                if run is None:
                    run = services.overdue_run(connection=connection, kind=kind)
                    if run is None:
                        busy = services.describe_active_run(connection, kind)
                        self.stdout.write(f"{connection.label}: {busy.rstrip('.')}; skipped.")
                        continue
                    self.stdout.write(f"{connection.label}: resuming the waiting {kind} sync nobody took up.")
                outcome = self.run_to_the_end(connection, run, no_wait=options["no_wait"])
                run.refresh_from_db()
                failed |= run.status == SyncRun.Status.FAILED
                handed |= outcome.retry_in is not None
                self.stdout.write(self._summary(connection, run, outcome))
        if failed:
            raise CommandError("At least one sync failed (see above).")
        if handed:
            raise CommandError("At least one sync was handed to a worker before it finished (see above).")

    def run_to_the_end(self, connection, run: SyncRun, *, no_wait: bool) -> services.Outcome:
        """Execute the run, waiting out every wait the network asks for (or handing the run on)."""
        while True:
            outcome = services.execute_sync_run(run=run)
            if outcome.retry_in is None:
                return outcome
            run.refresh_from_db()
            if outcome.reason == "rate limit":
                why = f"{services.adapter_for(connection).name} asks to wait {outcome.retry_in} s (rate limit)"
            else:
                why = f"{run.note} Trying again in {outcome.retry_in} s"
            if no_wait:
                queued = services.hand_run_to_worker(run, outcome.retry_in)
                resume_at = run.retry_at.astimezone(UTC)
                who = "a worker resumes it" if queued else "the task queue is unreachable, the beat resumes it"
                self.stdout.write(f"{connection.label}: {why}; handed to a worker: {who} at {resume_at:%H:%M:%S} UTC.")
                return outcome
            self.stdout.write(f"{connection.label}: {why}; waiting...")
            self.stdout.flush()
            self.wait_until(run.retry_at)

    def wait_until(self, moment) -> None:
        while (remaining := (moment - timezone.now()).total_seconds()) > 0:
            time.sleep(min(remaining, 60))

    def _summary(self, connection, run, outcome) -> str:
        line = (
            f"{connection.label}: {kind_label(connection.kind, run.kind).lower()} {run.status} - "
            f"{run.created_count} created, "
            f"{run.updated_count} updated, {run.unchanged_count} unchanged, {run.duplicate_count} duplicates, "
            f"{run.rejected_count} rejected, "
            f"{run.pages_done} pages, {run.requests} requests"
        )
        if run.kind == SyncKind.CLICKS and run.is_active and outcome.retry_in is None:
            jobs = ClickExportJob.objects.filter(run=run).count()
            line += f"; {jobs} export job(s) queued, a worker imports them when Impact finishes"
        elif run.is_active and outcome.retry_in is None:
            line += "; a worker took this run over"
        if run.note:
            line += f"; {run.note}"
        if run.error:
            line += f"; error: {run.error}"
        return line
