"""Run Impact syncs for one workspace now, in this process (operators, backfills)."""

from django.core.management.base import BaseCommand, CommandError

from networks import services
from networks.models import ClickExportJob, SyncKind, SyncRun
from offers.models import NetworkConnection, NetworkKind
from workspaces.errors import DomainError
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Sync a workspace's Impact connections: actions, action updates and/or click exports."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--since", help="Backfill actions/updates from this day (YYYY-MM-DD; at most 3 years).")
        parser.add_argument("--kind", choices=SyncKind.values, action="append", help="Repeatable; default: all.")
        parser.add_argument("--connection", help="Only this connection (its code).")

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        since = None
        try:
            if options["since"]:
                since = services.parse_since(options["since"])
        except DomainError as e:
            raise CommandError(e.message) from None
        connections = NetworkConnection.objects.filter(workspace=workspace, kind=NetworkKind.IMPACT)
        if options["connection"]:
            connections = connections.filter(code=options["connection"])
        if not connections:
            raise CommandError("This workspace has no Impact connection.")
        failed = False
        for connection in connections:
            for kind in options["kind"] or SyncKind.values:
                run = services.start_sync_run(
                    connection=connection,
                    kind=kind,
                    trigger=SyncRun.Trigger.COMMAND,
                    since=since if kind != SyncKind.CLICKS else None,
                )
                if run is None:
                    self.stdout.write(f"{connection.label}: a {kind} sync is already running; skipped.")
                    continue
                outcome = services.execute_sync_run(run=run)
                run.refresh_from_db()
                failed |= run.status == SyncRun.Status.FAILED
                self.stdout.write(self._summary(connection, run, outcome))
        if failed:
            raise CommandError("At least one sync failed (see above).")

    def _summary(self, connection, run, outcome) -> str:
        line = (
            f"{connection.label}: {run.kind} {run.status} - {run.created_count} created, "
            f"{run.updated_count} updated, {run.unchanged_count} unchanged, {run.duplicate_count} duplicates, "
            f"{run.rejected_count} rejected, "
            f"{run.pages_done} pages, {run.requests} requests"
        )
        if run.kind == SyncKind.CLICKS and run.is_active:
            jobs = ClickExportJob.objects.filter(run=run).count()
            line += f"; {jobs} export job(s) queued, a worker imports them when Impact finishes"
        if outcome.retry_in is not None:
            line += f"; waiting {outcome.retry_in} s ({run.note})"
        elif run.note:
            line += f"; {run.note}"
        if run.error:
            line += f"; error: {run.error}"
        return line
