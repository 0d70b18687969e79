from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reports.rollups import rebuild_rollups, rebuild_rollups_all_workspaces
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Rebuild the daily report rollups from raw clicks and conversions."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Workspace slug or code (default: every workspace)")
        parser.add_argument("--since", help="First day to rebuild, YYYY-MM-DD (default: the first activity)")

    def handle(self, *args, workspace=None, since=None, **options):
        first_day = None
        if since:
            try:
                first_day = date.fromisoformat(since)
            except ValueError:
                raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}")
        workspaces = Workspace.objects.order_by("id")
        if workspace:
            workspaces = workspaces.filter(slug=workspace) | workspaces.filter(code=_uuid_or_none(workspace))
            if not workspaces.exists():
                raise CommandError(f"No workspace with slug or code {workspace!r}.")
        if not workspace and not first_day:
            count, total_days, total_rows = rebuild_rollups_all_workspaces()
            self.stdout.write(f"Rebuilt {total_days} days ({total_rows} rollup rows) in {count} workspace(s).")
            return
        total_days = total_rows = count = 0
        for ws in workspaces:
            days, rows = rebuild_rollups(workspace=ws, since=first_day)
            total_days += days
            total_rows += rows
            count += 1
        self.stdout.write(f"Rebuilt {total_days} days ({total_rows} rollup rows) in {count} workspace(s).")


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None
