"""Remove what is past its retention: postback log rows, clicks and conversion events."""

from django.conf import settings
from django.core.management.base import BaseCommand

from tracking.services import retention


class Command(BaseCommand):
    help = (
        "Remove postback log rows, clicks and conversion events past their retention "
        "(POSTBACK_LOG_RETENTION_DAYS, CLICK_RETENTION_DAYS, CONVERSION_EVENT_RETENTION_DAYS); "
        "conversions, their history, the ledger and report rollups are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="override POSTBACK_LOG_RETENTION_DAYS for this run")
        parser.add_argument("--click-days", type=int, help="override CLICK_RETENTION_DAYS for this run")
        parser.add_argument("--event-days", type=int, help="override CONVERSION_EVENT_RETENTION_DAYS for this run")

    def handle(self, *args, days, click_days, event_days, **options):
        pruned = retention.prune(log_days=days, click_days=click_days, event_days=event_days)
        log_days = settings.POSTBACK_LOG_RETENTION_DAYS if days is None else days
        if pruned.postback_log is None:
            self.stdout.write("Postback log retention is off (0 days): no log rows pruned.")
        else:
            removed, months = pruned.postback_log
            self.stdout.write(
                f"Deleted {removed} postback log row(s) older than {log_days} days ({months} month(s) dropped)."
            )
        if pruned.clicks is None:
            self.stdout.write("Click retention is off (0 days): no clicks pruned.")
        else:
            removed, months = pruned.clicks
            self.stdout.write(
                f"Deleted {removed} click(s) from before {pruned.clicks_before:%Y-%m-%d %H:%M} UTC "
                f"({months} month(s) dropped); clicks with a conversion are kept."
            )
        if pruned.conversion_events is not None and pruned.conversion_events != (0, 0):
            removed, months = pruned.conversion_events
            self.stdout.write(f"Dropped {months} month(s) of conversion events ({removed} event(s)).")
