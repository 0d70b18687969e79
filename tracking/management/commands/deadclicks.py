"""Show, re-queue or purge the buffered clicks the database refused (the dead-letter list)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tracking.clicks import buffer


class Command(BaseCommand):
    help = "List the buffered clicks the database refused; --requeue retries them, --purge drops them."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--requeue", action="store_true", help="put every parked entry back on the stream")
        action.add_argument("--purge", action="store_true", help="forget every parked entry")
        parser.add_argument("--limit", type=int, default=20, help="entries to list (default 20)")

    def handle(self, *args, requeue, purge, limit, **options):
        if not settings.REDIS_URL:
            raise CommandError("The click buffer needs REDIS_URL; without it clicks are inserted directly.")
        if requeue:
            moved = buffer.requeue_dead_letters()
            self.stdout.write(f"Put {moved} parked click(s) back on the stream; the next drain tries them again.")
            return
        if purge:
            self.stdout.write(f"Dropped {buffer.purge_dead_letters()} parked click(s).")
            return
        for letter in buffer.dead_letters(limit):
            self.stdout.write(f"{letter['at']}  {letter['error'].splitlines()[0][:160]}\n    {letter['entry'][:300]}")
        self.stdout.write(f"{buffer.dead_letter_count()} parked click(s).")
