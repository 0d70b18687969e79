"""Re-encrypt every stored tax id with the newest FERNET_KEYS key (run it with rotatekeys)."""

from django.core.management.base import BaseCommand, CommandError

from portal import services


class Command(BaseCommand):
    help = "Re-encrypt the tax ids of members' tax forms with the first key in FERNET_KEYS."

    def handle(self, *args, **options):
        rotated, problems = services.rotate_tax_ids_all_workspaces()
        for problem in problems:
            self.stderr.write(problem)
        self.stdout.write(f"Re-encrypted {rotated} tax id(s) with the newest key; {len(problems)} unreadable.")
        if problems:
            raise CommandError(
                "Some tax ids could not be decrypted; keep the old key until those forms are sent again."
            )
