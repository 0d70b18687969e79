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
        log_days = settings.POSTBACK_LOG_RETENTION_DAYS if days is None else days
        if log_days <= 0:
            self.stdout.write("Postback log retention is off (0 days): no log rows pruned.")
        else:
            removed, months = retention.prune_postback_log(days=log_days)
            self.stdout.write(
                f"Deleted {removed} postback log row(s) older than {log_days} days ({months} month(s) dropped)."
            )
        before = retention.click_cutoff(days=click_days)
        if before is None:
            self.stdout.write("Click retention is off (0 days): no clicks pruned.")
        else:
            removed, months = retention.prune_clicks(days=click_days)
            self.stdout.write(
                f"Deleted {removed} click(s) from before {before:%Y-%m-%d %H:%M} UTC ({months} month(s) dropped); "
                "clicks with a conversion are kept."
            )
        removed, months = retention.prune_conversion_events(days=event_days)
        if removed or months:
            self.stdout.write(f"Dropped {months} month(s) of conversion events ({removed} event(s)).")
