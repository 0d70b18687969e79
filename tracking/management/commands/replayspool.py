"""Replay what the public endpoints spooled while the database was away (tracking/spool.py)."""

from django.core.management.base import BaseCommand

from tracking import spool
from tracking.services.spooled import replay_spool


class Command(BaseCommand):
    help = "Store the clicks and postback/pixel hits spooled on this machine while the database was away."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10_000, help="items to replay at most (default 10,000)")

    def handle(self, *args, limit, **options):
        result = replay_spool(limit=limit)
        waiting = spool.counts()
        self.stdout.write(
            f"Stored {result.stored}, set aside {result.failed}; {waiting['ready']} waiting, "
            f"{waiting['failed']} set aside in total ({spool.spool_dir()})."
        )
