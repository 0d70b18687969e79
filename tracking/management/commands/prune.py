"""Delete what is past its retention: postback log rows older than POSTBACK_LOG_RETENTION_DAYS."""

from django.conf import settings
from django.core.management.base import BaseCommand

from tracking.services.retention import prune_postback_log_all_workspaces


class Command(BaseCommand):
    help = "Delete postback log rows older than POSTBACK_LOG_RETENTION_DAYS (clicks and report rollups are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="override POSTBACK_LOG_RETENTION_DAYS for this run")

    def handle(self, *args, days, **options):
        days = settings.POSTBACK_LOG_RETENTION_DAYS if days is None else days
        if days <= 0:
            self.stdout.write("Postback log retention is off (0 days): nothing pruned.")
            return
        deleted = prune_postback_log_all_workspaces(days=days)
        self.stdout.write(f"Deleted {deleted} postback log row(s) older than {days} days.")
