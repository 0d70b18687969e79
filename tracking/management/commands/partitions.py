"""Create the months ahead and list the monthly partitions of clicks, postback log rows and conversion events."""

from django.core.management.base import BaseCommand
from django.db import connection

from tracking import partitions


class Command(BaseCommand):
    help = "Create this month's partitions and the next three, then list each partitioned table's months."

    def handle(self, *args, **options):
        if not partitions.supported():
            self.stdout.write("This database has no partitions (PostgreSQL only); nothing to do.")
            return
        for name in partitions.ensure_partitions():
            self.stdout.write(f"Created {name}")
        with connection.cursor() as cursor:
            for table in partitions.PARTITIONED:
                if not partitions.is_partitioned(table):
                    self.stdout.write(f"{table}: not partitioned (run migrate)")
                    continue
                months = partitions.months(table)
                cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table + '_default')}")
                in_default = cursor.fetchone()[0]
                span = f"{months[0].start:%Y-%m} to {months[-1].start:%Y-%m}" if months else "none"
                self.stdout.write(
                    f"{table}: {len(months)} month(s), {span}; {in_default} row(s) in its default partition"
                )
